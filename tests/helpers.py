"""What the tests share besides their fixtures (conftest.py): the repository's scripts run as a
user runs them (from the repository, with stdin closed so that nothing may prompt, output captured
as text), their command lines, and configs built for a test."""
import os
import subprocess
import sys

from script_runner import ScriptRunner
from tools.gpu_checks import kill_once_written  # noqa: F401 (the tests' crash mid-run)
from utils.config import REPO_DIR, apply_overrides, load_config


SERVED_SCRIPTS = ('main.py', 'infer.py')   # forked from script_runner's server when they can be
_runner = None if os.environ.get('EFFICIENTGCN_TESTS_NO_FORK') else ScriptRunner()


def run_python(*args, timeout=600, **kwargs):
    """python ARGS... (a script and its arguments, or -m and a module); with env= (an
    environment of the test's own) always a real `python` start."""
    args = [str(arg) for arg in args]
    if _runner and args[0] in SERVED_SCRIPTS and not kwargs:
        return _runner.run(args, REPO_DIR, timeout)
    return subprocess.run([sys.executable, *args], cwd=REPO_DIR, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def run_main(*argv, **kwargs):
    return run_python('main.py', *argv, **kwargs)


def set_args(*assignments):
    """--set A --set B ...: config entries changed on main.py's command line."""
    return [item for assignment in assignments for item in ('--set', str(assignment))]


def demo_args(data, work_dir, *assignments, config='1001'):
    """main.py's arguments for the demo (config 1001, or one written over it) on the synthetic
    data under `data` (its skeletons/ and npy/, generated on the first run), writing runs under
    work_dir, with further --set assignments."""
    return ['-c', config, '-np', *set_args(f'work_dir={work_dir}',
                                           f'dataset_args.ntu.root_folder={data / "npy"}',
                                           f'dataset_args.ntu.ntu60_path={data / "skeletons"}',
                                           *assignments)]


def write_empty_room(path, frames=8):
    """A video in which there is nobody: grey noise."""
    import cv2
    import numpy as np
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    rng = np.random.RandomState(0)
    for _ in range(frames):
        writer.write(rng.randint(90, 110, (240, 320, 3)).astype(np.uint8))
    writer.release()
    return path


# ---------------------------------------------------------------- configs built for a test
def config_of(config_id, *overrides, **dataset_entries):
    """A numbered config (or a path) with --set style overrides applied and its dataset's
    entries (dataset_args.ntu or .pose, after the overrides) updated."""
    from dataset import dataset_args_of
    cfg = apply_overrides(load_config(str(config_id)), list(overrides))
    dataset_args_of(cfg).update(dataset_entries)
    return cfg


def tiny_config(cfg, root, work_dir, num_frame=16, epochs=2, batch=4):
    """Shrink an official config to a seconds-long CPU run on data under `root`."""
    ntu = cfg['dataset_args']['ntu']
    ntu.update(root_folder=str(root), num_frame=num_frame, train_batch_size=batch,
               eval_batch_size=batch)
    cfg['scheduler_args']['cosine'].update(max_epoch=epochs, warm_up=min(1, epochs - 1))
    cfg.update(work_dir=str(work_dir), gpus=[], no_progress_bar=True)
    return cfg


def export(checkpoint, config_id, overrides=()):
    """main.py -ex; returns the exported Paddle model file written beside the checkpoint (the
    .onnx, when written, beside it too)."""
    from exporter.program import export_stem, saved_model_file
    sets = [arg for override in overrides for arg in ('--set', override)]
    result = run_main('-c', config_id, '-ex', '-pp', checkpoint, '-g', *sets)
    assert result.returncode == 0, result.stderr[-3000:]
    return saved_model_file(export_stem(checkpoint))


def export_pretrained(pretrained_dir, tmp_path, name, config_id, overrides=(), weights=None):
    """The published checkpoint `weights` (default: `name`) exported with the config as
    tmp_path/<name>.*"""
    link = tmp_path / f'{name}.pdparams'
    link.symlink_to((pretrained_dir / f'{weights or name}.pdparams').resolve())
    return export(link, config_id, overrides)
