"""EfficientGCN command line: generate data, train, evaluate, export, visualise.

    python main.py -c 2001 -gd        # raw NTU skeletons -> training arrays
    python main.py -c 2001            # train
    python main.py -c 2001 -e -pp CKPT
"""
import argparse
import os
import sys
import time

from utils.config import apply_overrides, load_config, set_value
from utils.errors import UserError
from utils.logs import setup_logging
from utils.runs import checkpoint_path, command_line
from utils.runtime import environment_for_children, import_paddle, tune_process


def amp_level(text):
    """--amp's level: O1, O2, or nothing (the config's amp_level, else O1)."""
    if text not in ('', 'O1', 'O2'):
        raise argparse.ArgumentTypeError(f'{text!r} is not an AMP level: give O1 or O2')
    return text


def build_parser():
    parser = argparse.ArgumentParser(description='EfficientGCN for skeleton-based action recognition')
    add = parser.add_argument
    # Settings
    add('-c', '--config', required=True, help='config ID (configs/<ID>.yaml) or path to a YAML file')
    add('-g', '--gpus', type=int, nargs='*', default=None, help='GPU ids; empty means CPU')
    add('-s', '--seed', type=int, default=None, help='random seed')
    add('-pp', '--pretrained_path', default=None, help='checkpoint to evaluate, export or start from')
    add('-w', '--work_dir', default=None, help='folder for runs and checkpoints')
    add('-np', '--no_progress_bar', action='store_true', help='log lines instead of progress bars')
    add('-dh', '--delay_hours', type=float, default=0, help='wait this many hours before starting')
    # Modes
    add('-db', '--debug', action='store_true', help='only the first 300 samples of each split')
    add('-r', '--resume', nargs='?', const=True, default=False, metavar='CHECKPOINT',
        help="resume the config's last run from <work_dir>/<config>_<model>_<dataset>/"
             'checkpoint.pdparams, or from the checkpoint given')
    add('-e', '--evaluate', action='store_true', help='evaluate the checkpoint given by -pp')
    add('-ex', '--extract', action='store_true', help='export the checkpoint given by -pp for inference')
    add('--quantize', choices=('int8', 'bf16'), nargs='+', default=None, metavar='PRECISION',
        help="with -ex: also the model in int8 (ONNX Runtime) and/or bf16 (Paddle Inference), "
             "calibrated on the config's training data and checked against float32")
    add('-v', '--visualize', action='store_true', help='draw confusion matrix, accuracy and CAM pictures')
    add('-gd', '--generate_data', action='store_true', help='turn raw .skeleton files into arrays')
    add('-pf', '--profile', action='store_true',
        help="print the model's parameters and multiply-adds per sample (needs no data)")
    # Visualisation
    add('-vc', '--visualization_class', type=int, default=None, help='class for CAM: 1-based NTU action number (0: the true class)')
    add('-vs', '--visualization_sample', type=int, nargs='+', default=None, help='eval sample indices (0-based)')
    add('-vf', '--visualization_frames', type=int, nargs='+', default=None, help='frames to draw (0-based, below num_frame; default: 8 evenly spaced)')
    # Config entries
    add('-d', '--dataset', default=None, help='dataset, e.g. ntu-xsub')
    add('-mt', '--model_type', default=None, help='model type, e.g. EfficientGCN-B2')
    add('-o', '--optimizer', default=None, help='Momentum or Adam')
    add('-ls', '--lr_scheduler', default=None, help='cosine or step')
    add('--amp', nargs='?', const='', default=None, type=amp_level, metavar='LEVEL',
        help='mixed precision training on GPU at LEVEL O1 or O2 (alone: the config\'s amp_level, '
             'else O1); sets amp_level')
    add('--nproc', type=int, default=None,
        help='processes on this machine (default: one per -g GPU); each takes batch / nproc')
    add('--set', action='append', default=[], metavar='KEY=VALUE',
        help='override a config entry, e.g. --set dataset_args.ntu.root_folder=/data (repeatable)')
    return parser


DEMO_DATA_WAIT = 600   # seconds launched processes wait for rank 0 to write the demo data

DEFAULT_AMP_LEVEL = 'O1'   # what --amp alone trains at when the config names no amp_level

# Command-line flags that overwrite the config entry of the same name when given.
_CONFIG_FLAGS = ('gpus', 'seed', 'pretrained_path', 'work_dir', 'visualization_class',
                 'visualization_sample', 'visualization_frames', 'dataset', 'model_type',
                 'optimizer', 'lr_scheduler')


def resolve_config(args):
    cfg = load_config(args.config)
    apply_overrides(cfg, args.set)
    for name in _CONFIG_FLAGS:
        value = getattr(args, name)
        if value is not None:
            set_value(cfg, name, value)
    for name in ('debug', 'no_progress_bar'):
        if getattr(args, name):
            set_value(cfg, name, True)
    if args.amp is not None:
        cfg['amp_level'] = args.amp or cfg.get('amp_level') or DEFAULT_AMP_LEVEL
    return cfg


def needs_demo_data(cfg):
    """A config with `synthetic` settings (the demo) makes its data on its first run."""
    from dataset import dataset_args_of, generated_data_folder
    dataset_args = dataset_args_of(cfg)
    if not dataset_args.get('synthetic'):
        return False
    folder = generated_data_folder(dataset_args, cfg['dataset'])
    return not all((folder / f'{phase}_{kind}').is_file()
                   for phase in ('train', 'eval') for kind in ('data.npy', 'label.pkl'))


def launcher_rank():
    """This process's rank under paddle.distributed.launch (0 when run directly)."""
    return int(os.environ.get('PADDLE_TRAINER_ID', '0'))


def generate_data(cfg):
    import generator   # numpy only: -gd never loads paddle
    generator.generate(cfg, progress=not cfg['no_progress_bar'])


def make_demo_data(cfg):
    """Rank 0 generates; other launched processes wait for its atomically renamed files."""
    if launcher_rank() == 0:
        generate_data(cfg)
        return
    deadline = time.time() + DEMO_DATA_WAIT
    while needs_demo_data(cfg):
        if time.time() > deadline:
            raise UserError('process 0 did not generate the demo data in time; run with -gd first')
        time.sleep(1)


def print_profile(cfg):
    import initializer
    from utils import model_profile
    net, _, data_shape, _ = initializer.build_model(cfg)
    print(f'{cfg["model_type"]} (config {cfg["config"]}): '
          f'{model_profile.describe(net, data_shape)}')


LAUNCHED_BY_MAIN = 'EFFICIENTGCN_LAUNCHED_BY_MAIN'


def under_launcher():
    return 'PADDLE_TRAINER_ID' in os.environ or 'PADDLE_TRAINERS_NUM' in os.environ


def launch(args, cfg, argv, count, gpus):
    """Run this command again as `count` processes on Paddle's launcher (one a GPU of `gpus`, or
    CPU processes when it is empty: utils.processes), and wait for them; their logs go to
    <work_dir>/launch_logs."""
    import subprocess
    from pathlib import Path

    from initializer import per_process_batch
    from utils.processes import launcher_command
    if not args.evaluate:   # an indivisible batch fails here, before any process starts
        per_process_batch(cfg, 'train', count)
    log_dir = Path(cfg['work_dir']) / 'launch_logs'
    on = f'GPUs {",".join(map(str, gpus))}' if gpus else 'the CPU, with gloo'
    print(f'starting {count} processes on paddle.distributed.launch ({on}); their logs: '
          f'{log_dir}/workerlog.*', flush=True)
    # the processes skip -dh: this one has waited already
    environment = {**environment_for_children(), LAUNCHED_BY_MAIN: '1'}
    code = subprocess.run(launcher_command(count, gpus, log_dir) +
                          [str(Path(__file__).resolve()), *argv], env=environment).returncode
    if code != 0:
        log = log_dir / 'workerlog.0'
        where = f'see {log}' if log.is_file() else \
            "Paddle's launcher stopped before starting them: see its lines above"
        raise UserError(f'the {count} processes failed (exit code {code}): {where}')


def run(args, cfg, argv=()):
    if args.quantize and not args.extract:
        raise UserError('--quantize belongs to -ex (export)')
    if args.generate_data:
        generate_data(cfg)
        return
    if args.profile:
        import_paddle()
        print_profile(cfg)
        return
    if needs_demo_data(cfg):
        make_demo_data(cfg)
    import_paddle()
    if args.quantize:   # a wrong quantization entry is an error before the export's work
        from exporter.quantize import quantization_settings
        quantization_settings(cfg)
    from utils.processes import check_gpu_ids, process_plan
    check_gpu_ids(cfg['gpus'])
    if not (args.extract or args.visualize) and not under_launcher():
        count, gpus = process_plan(args.nproc, cfg['gpus'])
        if count > 1:
            launch(args, cfg, argv, count, gpus)
            return
    from processor import Processor
    processor = Processor(cfg, resume=args.resume, command=args.command)
    if args.evaluate:
        processor.evaluate()
    elif args.extract:
        processor.export()
        if args.quantize:
            from exporter.quantize import quantize_export
            quantize_export(cfg, args.quantize, cfg['pretrained_path'])
    elif args.visualize:
        processor.visualize()
    else:
        processor.train()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(map(str, argv))
    args = build_parser().parse_args(argv)
    args.command = command_line(argv)   # recorded in the run folder
    setup_logging(rank=launcher_rank())
    cfg = None
    try:
        cfg = resolve_config(args)
        if args.delay_hours > 0 and not os.environ.get(LAUNCHED_BY_MAIN):
            time.sleep(args.delay_hours * 3600)
        run(args, cfg, argv)
    except UserError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = (f'; training keeps its last completed epoch in {checkpoint_path(cfg)} (continue '
                f'with -r)') if cfg else ''
        print(f'interrupted{kept}', file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    tune_process()   # before paddle loads; may restart this script once (huge pages)
    sys.exit(main())
