"""Where a config's runs live and what they record: each config's own folder under the work dir
(its run folders and its one resumable checkpoint), whose a checkpoint is (the config's name and
the model's signature, so that -r never continues another experiment), and the `run:` record of
what produced a run (command line, Paddle build, commit, devices, processes, AMP, seed)."""
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from utils.config import REPO_DIR, RUN_KEY
from utils.errors import UserError
from utils.files import atomic_save, save_yaml

CHECKPOINT_NAME = 'checkpoint.pdparams'


def config_dir(cfg):
    """<work_dir>/<config>_<model>_<dataset>: the config's run folders and its checkpoint."""
    return Path(cfg['work_dir']) / f'{cfg["config"]}_{cfg["model_type"]}_{cfg["dataset"]}'


def checkpoint_path(cfg):
    """The config's resumable checkpoint, replaced after every epoch; -r reads it."""
    return config_dir(cfg) / CHECKPOINT_NAME


def shared_checkpoint_path(cfg):
    """Where every config wrote its checkpoint before each had its own folder."""
    return Path(cfg['work_dir']) / CHECKPOINT_NAME


# ---------------------------------------------------------------- whose a checkpoint is
def owner(cfg, num_class, data_shape, amp_level=None):
    """What a resumable checkpoint records of the run that wrote it: the config's name and the
    model's signature (what must match for its state to continue this run), and the AMP level
    it trained at (None: float32)."""
    model_args = cfg['model_args']
    return {'config': cfg['config'],
            'model': {'model_type': cfg['model_type'], 'layer_type': model_args['layer_type'],
                      'att_type': model_args['att_type'], 'num_class': num_class,
                      'data_shape': list(data_shape)},
            'amp_level': amp_level}


def describe_owner(record):
    """e.g. config 1001's EfficientGCN-B0 (SG layers, stja attention, 10 classes, input
    3x6x32x25x2)."""
    model = record['model']
    shape = 'x'.join(map(str, model['data_shape']))
    return (f"config {record['config']}'s {model['model_type']} ({model['layer_type']} layers, "
            f"{model['att_type']} attention, {model['num_class']} classes, input {shape})")


def checkpoint_to_resume(cfg, given=None):
    """The checkpoint -r continues: the one given, else the config's own; else the work dir's
    shared checkpoint without an owner record, when its run folder is this config's."""
    if given:
        return Path(given)
    path = checkpoint_path(cfg)
    shared = shared_checkpoint_path(cfg)
    return shared if not path.is_file() and shared.is_file() else path


def check_owner(checkpoint, path, cfg, expected):
    """A checkpoint of another config or model is a UserError saying whose it is and where
    this config's would be. One written before checkpoints recorded their owner is judged by
    its run folder's name (<config>_<model>_<dataset>); returns a note on it to log, or None."""
    record = checkpoint.get('owner')
    own = f"config {cfg['config']}'s would be {checkpoint_path(cfg)}"
    if record is not None:
        record = {key: record.get(key) for key in ('config', 'model')}
        expected = {key: expected.get(key) for key in ('config', 'model')}
        if record != expected:
            raise UserError(f'checkpoint {path} is {describe_owner(record)}, not '
                            f'{describe_owner(expected)}; {own}')
        return None
    run_dir = checkpoint.get('run_dir')
    if run_dir and Path(run_dir).parent.name != config_dir(cfg).name:
        raise UserError(f'checkpoint {path} (written before checkpoints recorded their config) '
                        f'is the run {run_dir}\'s, not config {cfg["config"]}\'s ({own})')
    return (f'checkpoint {path} was written before checkpoints recorded their config'
            + (f'; its run folder {run_dir} is this config\'s' if run_dir else
               ' or run folder: resuming it as this config\'s'))


def _precision(level):
    return f'AMP {level}' if level else 'float32'


def check_amp_level(checkpoint, path, level):
    """-r at AMP `level` (None: float32) must continue a checkpoint of the same kind of optimizer
    state: O2 keeps float32 master weights in it (paddle.amp.decorate), float32 and O1 do not,
    and Paddle's optimizer asserts when they differ. A checkpoint that does not record its level
    is judged by its optimizer state."""
    record = checkpoint.get('owner') or {}
    if 'amp_level' in record:
        trained = record['amp_level']
        described = _precision(trained)
    else:
        trained = 'O2' if 'master_weights' in (checkpoint.get('opt') or {}) else None
        described = 'AMP O2' if trained else 'float32 or AMP O1'
    if (trained == 'O2') != (level == 'O2'):
        advice = 'with --amp O2' if trained == 'O2' else \
            f'at {"AMP O1 (--amp O1)" if trained else "float32 (no --amp) or AMP O1"}'
        raise UserError(f'checkpoint {path} was trained in {described}, this run trains in '
                        f'{_precision(level)}: their optimizer states differ (O2 keeps float32 '
                        f'master weights); resume it {advice}, or start a new run')


# ---------------------------------------------------------------- what produced a run
def run_record(command, devices, processes, amp_level, seed):
    """The `run:` section of a run folder's config.yaml, and the log's first lines. `command`:
    main.py's command line (command_line); None for a script of one's own (its sys.argv)."""
    import paddle
    return {
        'command': command or shlex.join(['python', *sys.argv]),
        'started': time.strftime('%Y-%m-%d %H:%M:%S'),
        'paddle': paddle.__version__,
        'paddle_build': _paddle_build(paddle),
        'python': platform.python_version(),
        'commit': _commit(),
        'devices': list(devices),
        'processes': processes,
        'amp_level': amp_level,
        'seed': seed,
    }


def command_line(argv):
    return shlex.join(['python', 'main.py', *map(str, argv)])


def _paddle_build(paddle):
    if not paddle.device.is_compiled_with_cuda():
        return 'CPU build, no CUDA'
    return f'CUDA {paddle.version.cuda()}, cuDNN {paddle.version.cudnn()}'


def _commit():
    """This repository's commit, marked when files differ from it; None outside git."""
    def git(*args):
        return subprocess.run(['git', '-C', str(REPO_DIR), *args], capture_output=True,
                              text=True, timeout=30)
    try:
        head = git('rev-parse', 'HEAD')
        if head.returncode != 0:
            return None
        changed = git('status', '--porcelain', '--untracked-files=no').stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + (' (with uncommitted changes)' if changed else '')


def record_lines(record):
    """The record as the log's first lines."""
    return [f"Run: {record['command']}",
            f"Paddle {record['paddle']} ({record['paddle_build']}), Python {record['python']}, "
            f"commit {record['commit'] or 'none (not in git)'}",
            f"Devices {', '.join(record['devices'])} ({record['processes']} process(es)), "
            f"AMP {record['amp_level']}, seed {record['seed']}"]


def write_config(run_dir, cfg, record, resumed_after=None):
    """run_dir/config.yaml: the resolved config and `run:`, the record. A resumed run (after
    epoch `resumed_after`) keeps the first record and adds its own under run.resumed."""
    path = Path(run_dir) / 'config.yaml'
    run = record
    earlier = _saved_run(path) if resumed_after is not None else None
    if earlier is not None:
        run = {**earlier, 'resumed': [*earlier.get('resumed', []),
                                      {'after_epoch': resumed_after, **record}]}
    elif resumed_after is not None:
        run = {**record, 'resumed_after_epoch': resumed_after}
    atomic_save({**cfg, RUN_KEY: run}, path, save_yaml)


def _saved_run(path):
    """The `run:` record of a run folder's config.yaml, or None."""
    try:
        saved = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    run = saved.get(RUN_KEY) if isinstance(saved, dict) else None
    return run if isinstance(run, dict) else None
