"""One engine for the run modes: train (with exact resume), evaluate, export, visualise."""
import copy
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle
from tqdm import tqdm

import initializer
from utils import metrics
import model as model_zoo
from utils import model_profile
from utils.errors import UserError
from utils.files import atomic_save, save_json, save_pickle
from utils.logs import setup_logging
from model.checkpoint import (load_checkpoint, load_model_state, load_run_checkpoint,
                              model_state_of, record_of)
from utils import ranks, runs, training
from utils.runtime import select_device
from utils.seeding import restore_rng_states, resume_seed, rng_states, seed_everything

logger = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """What a run takes besides its config: `resume` True (the config's own checkpoint) or a
    checkpoint's path to continue training from (-r); `command` the command line recorded in
    the run folder (None from a script)."""
    resume: object = False
    command: str = None


class Processor:
    """The run modes of a resolved config (utils.config.load_config, with overrides): train(),
    evaluate(), export(), visualize(). Options as a RunOptions (or any object with its
    attributes, as main.py's parsed command line) or as keyword arguments."""

    def __init__(self, cfg, options=None, **keywords):
        self.cfg = cfg
        self.options = options if options is not None else RunOptions(**keywords)
        self.world_size = paddle.distributed.get_world_size()
        self.rank = paddle.distributed.get_rank()
        setup_logging(rank=self.rank)
        self.device, self.device_warning = select_device(cfg['gpus'],
                                                         distributed=self.world_size > 1)
        if self.device_warning and self.is_main:   # at once, whatever the mode; and in the log
            print(f'warning: {self.device_warning}', file=sys.stderr, flush=True)
        if self.world_size > 1:
            paddle.distributed.init_parallel_env()
        self.devices = self._all_devices()
        seed_everything(cfg['seed'])
        self.net, self.graph, self.data_shape, self.num_class = initializer.build_model(cfg)
        self.use_cpu_backend(self.net)
        self.amp_level = None   # float32 unless training sets it (training.amp_level)
        self.work_dir = Path(cfg['work_dir'])
        self.run_dir = None
        self.writer = None
        self.scaler = None

    # ---------------------------------------------------------------- set-up helpers
    @property
    def is_main(self):
        return self.rank == 0

    def _all_devices(self):
        """Every process's device, in rank order (each process calls this)."""
        if self.world_size == 1:
            return [self.device]
        devices = []
        paddle.distributed.all_gather_object(devices, self.device)
        return devices

    def open_run_dir(self, run_dir=None, resumed_after=None):
        """Run folder <work_dir>/<config>_<model>_<dataset>/<timestamp>/ with log.txt, whose
        first lines say what produced the run, and config.yaml: the resolved config and that
        record (`run:`; a resumed run adds its own under run.resumed)."""
        if run_dir is None:
            run_dir = runs.config_dir(self.cfg) / time.strftime('%Y-%m-%d_%H-%M-%S')
        self.run_dir = Path(run_dir)
        if self.is_main:
            record = runs.run_record(getattr(self.options, 'command', None), self.devices,
                                     self.world_size, self.amp_level or 'off', self.cfg['seed'])
            self.run_dir.mkdir(parents=True, exist_ok=True)
            setup_logging(self.run_dir / 'log.txt', rank=self.rank)
            for line in runs.record_lines(record):
                logger.info('%s', line)
            runs.write_config(self.run_dir, self.cfg, record, resumed_after)
        logger.info('Run folder: %s', self.run_dir)
        if self.device_warning:
            logger.warning(self.device_warning)

    def use_cpu_backend(self, net):
        """On the CPU the model computes with the CPU backend's forms (the same values)."""
        if self.device == 'cpu':
            from model import cpu_backend
            cpu_backend.install(net)
        return net

    def eval_model(self):
        """The network as evaluation runs it: re-parameterised (batch norms folded) once, from
        the current weights, in float32; self.net is left as it is, so training goes on after
        it."""
        net = self.net
        if self.amp_level == 'O2':   # float16 weights: fold a float32 copy
            net = copy.deepcopy(net).to(dtype='float32')
        return self.use_cpu_backend(model_zoo.reparameterize(net))

    def load_pretrained(self, new_classifier=False):
        """The checkpoint of -pp into the model. With new_classifier (training from it), a
        classifier for another number of classes is left out and started afresh."""
        path = self.cfg['pretrained_path']
        checkpoint = load_checkpoint(path)
        state = model_state_of(checkpoint)
        try:
            left_out = load_model_state(self.net, state, path, new_classifier)
        except UserError as e:
            raise UserError(f'{e}; {initializer.fit_hint(state)}') from None
        record = record_of(checkpoint)
        logger.info('Loaded %s%s', path, f' (its record: {record})' if record else '')
        if left_out:
            model_zoo.init_param(self.net.classifier)
            logger.info('Fine-tuning: the checkpoint\'s classifier is for %d classes, this '
                        'config has %d: left out %s; the classifier starts afresh (the official '
                        'init), every other weight is the checkpoint\'s', left_out[0][1][0],
                        self.num_class, ', '.join(f'{key} {theirs} (model: {ours})'
                                                  for key, theirs, ours in left_out))
        return checkpoint

    def build_eval_loader(self):
        return self.build_loader(initializer.build_feeders(self.cfg, self.graph, ['eval'])['eval'],
                                 'eval')

    def build_loader(self, feeder, phase):
        return initializer.build_loader(self.cfg, feeder, phase, self.rank, self.world_size,
                                        on_gpu=self.device.startswith('gpu'))

    def _progress(self, loader, desc):
        return tqdm(loader, desc=desc, dynamic_ncols=True, leave=False,
                    disable=self.cfg['no_progress_bar'] or not self.is_main)

    # ---------------------------------------------------------------- training
    def train(self):
        resume = self._checkpoint_to_resume() if self.options.resume else None
        feeders = initializer.build_feeders(self.cfg, self.graph, ['train', 'eval'])
        self.train_loader = self.build_loader(feeders['train'], 'train')
        self.eval_loader = self.build_loader(feeders['eval'], 'eval')
        self.schedule, self.lr = initializer.build_scheduler(self.cfg, len(self.train_loader))
        self.optimizer = initializer.build_optimizer(self.cfg, self.net, self.lr)
        self.amp_level = training.amp_level(self.cfg, self.device)
        self.scaler = training.grad_scaler(self.amp_level)
        start_epoch, self.best_state = 0, {'acc_top1': 0.0, 'acc_top5': 0.0, 'epoch': 0}
        if resume:
            start_epoch = self._resume(*resume)
        else:
            self.open_run_dir()
            if self.cfg['pretrained_path']:
                self.load_pretrained(new_classifier=True)
        self.log_profile()
        self.net, self.optimizer = training.decorate_for_amp(self.net, self.optimizer,
                                                             self.amp_level)
        self.model = paddle.DataParallel(self.net) if self.world_size > 1 else self.net
        if self.is_main:
            from tensorboardX import SummaryWriter
            self.writer = SummaryWriter(str(self.run_dir))
        loop = training.TrainingLoop(self.model, self.optimizer, self.lr, self.train_loader,
                                     self.amp_level, self.scaler, self.writer, self._progress,
                                     self.cfg['no_progress_bar'], self.world_size)
        self._log_training(feeders, start_epoch)
        max_epoch = self.schedule.max_epoch
        for epoch in range(start_epoch + 1, max_epoch + 1):
            loop.epoch(epoch, max_epoch)
            ranks.average_buffers(self.net, self.world_size)
            if self.schedule.eval_now(epoch):
                self._evaluate_and_record(epoch)
            self._save_checkpoint(epoch)
        ranks.check_ranks_agree(self.net, self.world_size)
        logger.info('Finished training. Best top-1 %.2f%% (epoch %d); best model: %s',
                    100 * self.best_state['acc_top1'], self.best_state['epoch'],
                    self.run_dir / 'best.pdparams')
        if self.writer is not None:
            self.writer.close()

    def _log_training(self, feeders, start_epoch):
        batch_size = self.train_loader.batch_sampler.batch_size
        logger.info('%d process(es), train batch %d per process = global batch %d; %d loader '
                    'worker(s) per process; %s', self.world_size, batch_size,
                    self.world_size * batch_size, self.train_loader.num_workers,
                    training.precision(self.cfg, self.device))
        logger.info('Training %s on %s: %d train / %d eval samples, %d epochs from epoch %d',
                    self.cfg['model_type'], self.cfg['dataset'], len(feeders['train']),
                    len(feeders['eval']), self.schedule.max_epoch, start_epoch + 1)

    def log_profile(self):
        """The model's parameters and multiply-adds, as the official code logs them every run."""
        logger.info('Model: %s', model_profile.describe(self.net, self.data_shape))

    def _evaluate_and_record(self, epoch):
        results, _ = self.run_evaluation(epoch)
        if not self.is_main:
            return
        self.writer.add_scalar('eval_top1', results['top1'], epoch)
        self.writer.add_scalar('eval_top5', results['top5'], epoch)
        self.writer.add_scalar('eval_loss', results['mean_loss'], epoch)
        if results['top1'] > self.best_state['acc_top1'] or self.best_state['epoch'] == 0:
            self.best_state = {'acc_top1': results['top1'], 'acc_top5': results['top5'],
                               'cm': results['confusion_matrix'], 'epoch': epoch}
            atomic_save({'model': self.net.state_dict(), 'best_state': self.best_state},
                        self.run_dir / 'best.pdparams', paddle.save)
        logger.info('Best top-1 accuracy: %.2f%% (epoch %d)', 100 * self.best_state['acc_top1'],
                    self.best_state['epoch'])

    def _owner(self):
        return runs.owner(self.cfg, self.num_class, self.data_shape, self.amp_level)

    def _save_checkpoint(self, epoch):
        """The config's resumable checkpoint (its own, in its folder under the work dir), with
        the record of whose it is."""
        rng = ranks.every_rank(self.world_size, rng_states())   # each rank draws its own
        if not self.is_main:
            return
        checkpoint = {
            'model': self.net.state_dict(), 'opt': self.optimizer.state_dict(),
            'scheduler': self.lr.state_dict(), 'epoch': epoch, 'best_state': self.best_state,
            'rng': rng, 'run_dir': str(self.run_dir), 'owner': self._owner(),
        }
        if self.scaler is not None:
            checkpoint['scaler'] = self.scaler.state_dict()
        path = runs.checkpoint_path(self.cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save(checkpoint, path, paddle.save)

    def _checkpoint_to_resume(self):
        """(path, checkpoint) for -r, checked to be this config's and model's (before any data
        is read or any file written)."""
        given = self.options.resume if isinstance(self.options.resume, str) else None
        path = runs.checkpoint_to_resume(self.cfg, given)
        checkpoint = load_run_checkpoint(path)
        note = runs.check_owner(checkpoint, path, self.cfg, self._owner())
        runs.check_amp_level(checkpoint, path, training.amp_level(self.cfg, self.device))
        missing = [k for k in ('model', 'opt', 'scheduler', 'epoch', 'rng') if k not in checkpoint]
        if missing:
            raise UserError(f'checkpoint {path} cannot be resumed: it has no {missing[0]!r} entry')
        if note:
            logger.info('%s', note)
        return path, checkpoint

    def _resume(self, path, checkpoint):
        load_model_state(self.net, checkpoint['model'], path)
        self.optimizer.set_state_dict(checkpoint['opt'])
        self.lr.set_state_dict(checkpoint['scheduler'])
        if self.scaler is not None and 'scaler' in checkpoint:
            self.scaler.load_state_dict(checkpoint['scaler'])
        self.best_state = checkpoint.get('best_state', self.best_state)
        restore_rng_states(checkpoint['rng'], self.rank, self.world_size,
                           resume_seed(self.cfg['seed'], checkpoint['epoch'], self.rank))
        run_dir = checkpoint.get('run_dir')
        self.open_run_dir(run_dir if run_dir and Path(run_dir).is_dir() else None,
                          resumed_after=checkpoint['epoch'])
        logger.info('Resumed from %s after epoch %d', path, checkpoint['epoch'])
        return checkpoint['epoch']

    # ---------------------------------------------------------------- evaluation
    def evaluate(self):
        """-e: score every eval sample with the checkpoint given by -pp; (results, scores)."""
        self.load_pretrained()
        self.eval_loader = self.build_eval_loader()
        self.open_run_dir()   # only once the checkpoint and the data are known to be good
        self.log_profile()
        return self.run_evaluation(epoch=None)

    def _predict(self, loader, net):
        """Logits of this rank's samples: dict name -> float32 logits, and name -> label."""
        scores, labels = {}, {}
        with paddle.no_grad():
            for data, label, names in self._progress(loader, 'Evaluating'):
                logits, _ = net(data)
                for name, row, y in zip(names, logits.numpy(), label.numpy()):
                    scores[name], labels[name] = row.astype(np.float32), int(y)
        return scores, labels

    def run_evaluation(self, epoch, net=None):
        """Score every eval sample once with net (default: the eval model of the current
        weights); log and (rank 0) write eval_results.json and eval_scores.pkl in the run folder.
        `epoch` is None outside training. Returns the results (metrics.summarize) and the scores
        (sample name -> logits)."""
        start = time.time()
        net = net or self.eval_model()
        scores, labels = ranks.gather_predictions(self.world_size,
                                                  *self._predict(self.eval_loader, net))
        elapsed = time.time() - start
        results = self._record(scores, labels, epoch)
        logger.info('Evaluating time: %.2fs, Speed: %.2f sequences/(second*device)', elapsed,
                    results['num_samples'] / max(elapsed, 1e-9) / self.world_size)
        if self.world_size > 1:
            paddle.distributed.barrier()
        return results, scores

    def _record(self, scores, labels, epoch):
        """The results of the eval split's scores (labels: name -> label), logged and (rank 0)
        written beside them."""
        names = [n for n in self.eval_loader.dataset.names if n in scores]
        results = metrics.summarize(np.stack([scores[n] for n in names]),
                                    [labels[n] for n in names], self.num_class)
        results['epoch'] = epoch
        metrics.log_scores(results)
        if self.is_main:
            self.write_eval_outputs(results, scores)
        return results

    def write_eval_outputs(self, results, scores):
        public = {k: v for k, v in results.items() if k != 'confusion_matrix'}
        public['per_class_accuracy'] = {str(k): v for k, v in results['per_class_accuracy'].items()}
        atomic_save(public, self.run_dir / 'eval_results.json', save_json)
        atomic_save(scores, self.run_dir / 'eval_scores.pkl', save_pickle)

    # ---------------------------------------------------------------- export / visualise
    def export(self):
        """-ex: the checkpoint given by -pp as inference files beside it (exporter)."""
        import exporter
        self.load_pretrained()
        return exporter.export(self.net, self.cfg['pretrained_path'], self.cfg, self.graph,
                               self.data_shape, self.num_class, reference=self.eval_model())

    def visualize(self):
        """-v: the eval scores (reused from an earlier run of the same checkpoint and data, else
        computed), then the pictures and tables of visualizer.py in the run folder."""
        import visualizer
        from utils import score_cache
        cfg = self.cfg
        options = visualizer.Options(cfg, self.num_class, self.build_eval_loader())
        self.load_pretrained()
        key = score_cache.scores_key(cfg) if self.world_size == 1 else None
        cached = key and score_cache.find_cached_scores(self.work_dir, key, options.feeder,
                                                        self.num_class)
        self.open_run_dir()   # once the cache is known to be safe: a refused one writes nothing
        self.eval_loader, net = options.loader, self.eval_model()
        if cached:
            logger.info('Reusing the eval scores of the same checkpoint and data: %s', cached[0])
            scores = cached[1]
            results = self._record(scores, dict(zip(options.feeder.names, options.feeder.labels)),
                                   epoch=None)
        else:   # several processes could disagree on a reuse, so they always evaluate
            results, scores = self.run_evaluation(epoch=None, net=net)
        if key is not None:
            atomic_save(key, self.run_dir / score_cache.SCORES_KEY_NAME, save_json)
        if not self.is_main:
            return None
        return visualizer.draw(self.run_dir, cfg, options, results, scores, net, self.graph)
