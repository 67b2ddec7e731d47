"""Builds what a run needs from the config: model (and later data, optimizer, scheduler)."""
import json

import numpy as np
import paddle

import model as model_zoo
from dataset import configured_workers, dataset_args_of, dataset_info
from utils import shared_memory
from utils.errors import ConfigError


def build_model(cfg):
    """The config's EfficientGCN for its dataset; returns (model, graph, data_shape, num_class)."""
    num_class, graph, data_shape = dataset_info(cfg['dataset'], cfg['dataset_args'])
    model_args = dict(cfg['model_args'])
    try:
        net = model_zoo.create(
            cfg['model_type'], model_args.pop('act_type'), model_args.pop('block_args'),
            model_args.pop('scale_args'), data_shape=data_shape, num_class=num_class,
            A=paddle.to_tensor(graph.A, dtype='float32'), parts=graph.parts, **model_args)
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f'model_args of config {cfg.get("config")} do not build a model: {e}') from None
    return net, graph, data_shape, num_class


def configs_that_fit(state):
    """The numbered configs whose model has exactly the checkpoint state's keys and shapes,
    and what that model is (e.g. 'EfficientGCN-B0 with SG layers, 60 classes'). Configs that
    differ only in data, schedule or benchmark share an architecture: one model is built for
    each (14 for the 32 configs)."""
    from model.checkpoint import shapes_of, state_misfits
    from utils.config import CONFIG_DIR, load_config
    fitting, described, fits = [], None, {}
    for path in sorted(CONFIG_DIR.glob('[23]*.yaml')):
        cfg = load_config(path.stem)
        architecture = _architecture(cfg)
        if architecture not in fits:
            with paddle.LazyGuard():   # shapes only: the weights are never initialised
                net = build_model(cfg)[0]
            fits[architecture] = not any(state_misfits(shapes_of(net), state))
        if fits[architecture]:
            fitting.append(path.stem)
            described = (f'{cfg["model_type"]} with {cfg["model_args"]["layer_type"]} layers, '
                         f'{dataset_info(cfg["dataset"], cfg["dataset_args"])[0]} classes')
    return fitting, described


def _architecture(cfg):
    """What decides a config's model's keys and shapes: model type and arguments, classes,
    input shape and skeleton graph."""
    num_class, graph, data_shape = dataset_info(cfg['dataset'], cfg['dataset_args'])
    parts = [np.asarray(part).tolist() for part in graph.parts]
    return json.dumps([cfg['model_type'], cfg['model_args'], num_class, data_shape,
                       list(np.shape(graph.A)), parts], sort_keys=True)


def fit_hint(state):
    """What a checkpoint that does not fit the config is, and which configs it fits."""
    fitting, described = configs_that_fit(state)
    if not fitting:
        return 'no numbered config fits it either'
    return f'it is {described}: config{"s" if len(fitting) > 1 else ""} {", ".join(fitting)} fit'


def build_feeders(cfg, graph, phases):
    """NTU_Feeder per phase, reading the arrays that -gd wrote."""
    from dataset.ntu_feeder import NTU_Feeder
    dataset_args = dataset_args_of(cfg)
    return {phase: NTU_Feeder(phase, cfg['dataset'], dataset_args, graph.connect_joint,
                              debug=cfg['debug'], center=graph.center)
            for phase in phases}


# Loader worker processes per training process when dataset_args num_workers is empty.
GPU_LOADER_WORKERS = 4   # per GPU, as the official code (4 x its GPUs, in one process)
CPU_LOADER_WORKERS = 1   # measured on 2 cores, a demo epoch: 22.7 s, against 31.0 s with 0 and
                         # 30.2 s with 2 (docs/training.md)


def loader_workers(cfg, on_gpu):
    """dataset_args num_workers, or when it is empty the default for the device."""
    workers = configured_workers(dataset_args_of(cfg), 'loader processes',
                                 f'{GPU_LOADER_WORKERS} per GPU, {CPU_LOADER_WORKERS} on the CPU')
    if workers is None:
        return GPU_LOADER_WORKERS if on_gpu else CPU_LOADER_WORKERS
    return workers


def build_loader(cfg, feeder, phase, rank=0, world_size=1, on_gpu=False):
    """Train: shuffled by (seed, epoch), last incomplete batch dropped. Eval: every sample once.
    Built by loader_workers(cfg, on_gpu) worker processes, which hand their batches over in
    shared memory where /dev/shm holds them (utils.shared_memory)."""
    from paddle.io import DataLoader

    from dataset.samplers import ShardedBatchSampler
    train = phase == 'train'
    batch_size = per_process_batch(cfg, phase, world_size)
    sampler = ShardedBatchSampler(len(feeder), batch_size, shuffle=train, drop_last=train,
                                  seed=cfg['seed'], rank=rank, world_size=world_size)
    if train and len(sampler) == 0:
        raise ConfigError(f'the train split has {len(feeder)} samples, fewer than one batch of '
                          f'{batch_size} per process: lower dataset_args train_batch_size')
    num_workers = loader_workers(cfg, on_gpu)
    shared = num_workers > 0 and shared_memory.use_shared_memory(
        num_workers, batch_size * sample_bytes(feeder))
    return DataLoader(feeder, batch_sampler=sampler, num_workers=num_workers,
                      use_shared_memory=shared)


def sample_bytes(feeder):
    """The bytes of one sample's input array, as a batch carries it."""
    return np.asarray(feeder[0][0]).nbytes if len(feeder) else 0


def per_process_batch(cfg, phase, world_size):
    """The config's batch sizes are global, as in the official code (where DataParallel splits
    each batch): N processes take batch / N each. A train batch N does not divide is an error;
    an eval batch is rounded up (every sample is scored once either way)."""
    batch = dataset_args_of(cfg)[f'{phase}_batch_size']
    if phase == 'train' and batch % world_size:
        raise ConfigError(f'train_batch_size {batch} (the global batch) does not split over '
                          f'{world_size} processes: give a multiple of {world_size} with '
                          f'--set dataset_args.<dataset>.train_batch_size=N')
    return -(-batch // world_size)


def build_scheduler(cfg, iters_per_epoch):
    """(schedule, paddle LambdaDecay stepped every iteration)."""
    import scheduler
    schedule = scheduler.create(cfg['lr_scheduler'], iters_per_epoch, cfg['scheduler_args'])
    base_lr = _optimizer_args(cfg)['lr']
    return schedule, paddle.optimizer.lr.LambdaDecay(base_lr, schedule)


def _optimizer_args(cfg):
    name = cfg['optimizer']
    if name not in cfg['optimizer_args']:
        raise ConfigError(f'optimizer_args has no {name!r} entry')
    return cfg['optimizer_args'][name]


def build_optimizer(cfg, net, lr_scheduler):
    name, args = cfg['optimizer'], _optimizer_args(cfg)
    if name in ('Momentum', 'SGD'):
        return paddle.optimizer.Momentum(
            learning_rate=lr_scheduler, momentum=args['momentum'],
            use_nesterov=args.get('nesterov', False), weight_decay=args['weight_decay'],
            parameters=net.parameters())
    if name == 'Adam':
        beta1, beta2 = args.get('betas', [0.9, 0.999])
        return paddle.optimizer.Adam(learning_rate=lr_scheduler, beta1=beta1, beta2=beta2,
                                     weight_decay=args['weight_decay'],
                                     parameters=net.parameters())
    raise ConfigError(f'unknown optimizer {name!r}; choose Momentum or Adam')
