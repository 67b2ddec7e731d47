"""Two CPU processes under paddle.distributed.launch (utils/cpu_launch.py) train the demo: two
epochs, and the same run killed in its second epoch then resumed with -r."""
import json
import re

import numpy as np
import paddle
import pytest
import yaml

from helpers import demo_args, kill_once_written, run_python


DEMO_FOLDER = '1001_EfficientGCN-B0_ntu-xsub'   # the demo's runs and resumable checkpoint


# What these tests check does not depend on the data's size: a sixth of the demo's samples
# (small_demo_data) at half its frames; two steps a process an epoch, and an evaluation: epoch 2
# still outlasts by far the 20 ms in which kill_once_written sees epoch 1's checkpoint and kills.
HALF_FRAMES = ['dataset_args.ntu.num_frame=8']


def launch_arguments(data, work_dir, log_dir, epochs, *extra):
    """python's arguments for the demo at half its frames on two CPU processes, on the
    synthetic data under `data`: Paddle's launcher in its CPU form (the one main.py starts CPU
    processes with; plain, it would give them the GPUs of a CUDA build)."""
    return ['utils/cpu_launch.py', '--nproc_per_node', '2', '--log_dir', str(log_dir),
            'main.py', *demo_args(data, work_dir, f'scheduler_args.cosine.max_epoch={epochs}',
                                  'scheduler_args.cosine.warm_up=0', *HALF_FRAMES), *extra]


@pytest.mark.slow
def test_two_process_training_and_a_run_killed_in_epoch_2_resumes_to_the_same_parameters(
        tmp_path, small_demo_data):
    """Two processes train two epochs (the eval samples split between them, each counted once;
    the run's record); the same run killed in its second epoch and resumed with -r ends with
    the same parameters, bit for bit."""
    straight_dir, straight_logs = tmp_path / 'straight', tmp_path / 'logs_straight'
    straight = run_python(*launch_arguments(small_demo_data, straight_dir, straight_logs, 2))
    rank0 = (straight_logs / 'workerlog.0').read_text()
    assert straight.returncode == 0, rank0[-3000:]
    assert 'Parameters are identical on all 2 processes' in rank0
    # 20 synthetic eval samples, split over two processes, each counted once
    assert 'Top-1 accuracy: ' in rank0 and '/20(' in rank0
    results = json.loads(next(straight_dir.glob('*/*/eval_results.json')).read_text())
    assert results['num_samples'] == 20
    run = yaml.safe_load(next(straight_dir.glob('*/*/config.yaml')).read_text())['run']
    assert run['processes'] == 2 and run['devices'] == ['cpu', 'cpu']
    # the training accuracy counts the samples of both processes: 2 full steps of 4 each (the
    # demo drops a short last batch)
    assert re.search(r'Epoch: 2/2, Training accuracy: \d+/16\(', rank0), rank0[-3000:]

    killed_dir = tmp_path / 'killed'
    checkpoint = killed_dir / DEMO_FOLDER / 'checkpoint.pdparams'
    kill_once_written(launch_arguments(small_demo_data, killed_dir, tmp_path / 'logs_killed', 2),
                      checkpoint)
    saved = paddle.load(str(checkpoint))
    assert saved['epoch'] == 1, 'the kill must land during epoch 2'
    assert len(saved['rng']) == 2   # each process's random states, restored to that process

    log_dir = tmp_path / 'logs_resumed'
    resumed = run_python(*launch_arguments(small_demo_data, killed_dir, log_dir, 2, '-r'))
    rank0 = (log_dir / 'workerlog.0').read_text()
    assert resumed.returncode == 0, rank0[-3000:]
    assert 'Resumed from' in rank0 and 'Epoch: 1/2' not in rank0
    assert 'Parameters are identical on all 2 processes' in rank0
    a, b = (paddle.load(str(d / DEMO_FOLDER / 'checkpoint.pdparams'))
            for d in (straight_dir, killed_dir))
    assert a['epoch'] == b['epoch'] == 2
    for key, value in a['model'].items():
        np.testing.assert_array_equal(np.asarray(b['model'][key]), np.asarray(value),
                                      err_msg=key)   # bit for bit


def demo_arguments(data, work_dir, *extra):
    return [*demo_args(data, work_dir, 'scheduler_args.cosine.max_epoch=1',
                       'scheduler_args.cosine.warm_up=0', *HALF_FRAMES), *extra]


@pytest.mark.slow
def test_main_starts_two_cpu_processes_that_split_the_global_batch(tmp_path, small_demo_data):
    """--nproc 2 (as -g 0 1 on two GPUs): main.py starts the processes on Paddle's launcher
    itself; a global batch of 16 is 8 per process, every eval sample is scored once and the
    processes end with identical parameters."""
    from helpers import run_main
    work_dir = tmp_path / 'work'
    result = run_main(*demo_arguments(small_demo_data, work_dir, '--nproc', '2',
                                      '--set', 'dataset_args.ntu.train_batch_size=16'))
    log_dir = work_dir / 'launch_logs'
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'starting 2 processes on paddle.distributed.launch' in result.stdout
    rank0 = (log_dir / 'workerlog.0').read_text()
    assert '2 process(es), train batch 8 per process = global batch 16' in rank0
    assert 'Parameters are identical on all 2 processes' in rank0
    results = json.loads(next(work_dir.glob('*/*/eval_results.json')).read_text())
    assert results['num_samples'] == 20 and '/20(' in rank0


def test_a_global_batch_the_processes_cannot_split_is_a_one_line_error(tmp_path,
                                                                       small_demo_data):
    from helpers import run_main
    result = run_main(*demo_arguments(small_demo_data, tmp_path / 'work', '--nproc', '2',
                                      '--set', 'dataset_args.ntu.train_batch_size=15'))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'does not split over 2 processes' in errors[0], result.stderr


_THREADS = '''
import os, sys
sys.path.insert(0, os.getcwd())
from utils import runtime
runtime.set_cpu_threads()
print(os.environ['OMP_NUM_THREADS'], runtime.environment_for_children().get('OMP_NUM_THREADS'))
'''


def test_launched_processes_share_the_cores_unless_the_user_chose_the_threads():
    """main.py's own thread count is not handed to the processes it launches: each of N takes
    cores / N (at least 1); a count the user set is handed on."""
    import os
    cores = os.cpu_count() or 1
    bare = {k: v for k, v in os.environ.items()
            if k not in ('OMP_NUM_THREADS', 'PADDLE_LOCAL_SIZE')}
    parent = run_python('-c', _THREADS, env=bare, check=True).stdout.split()
    assert parent == [str(cores), 'None']
    child = run_python('-c', _THREADS, env={**bare, 'PADDLE_LOCAL_SIZE': '2'}, check=True)
    assert child.stdout.split()[0] == str(max(1, cores // 2))
    chosen = run_python('-c', _THREADS, env={**bare, 'OMP_NUM_THREADS': '3'}, check=True)
    assert chosen.stdout.split() == ['3', '3']
