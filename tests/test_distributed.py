"""Two CPU processes under paddle.distributed.launch train the demo: one epoch, and a run killed
in its second epoch then resumed with -r."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import paddle

from utils import REPO_DIR


def launch_command(tmp_path, work_dir, log_dir, epochs, *extra):
    """The demo on two CPU processes, its synthetic data generated once under tmp_path."""
    return [
        sys.executable, '-m', 'paddle.distributed.launch', '--nproc_per_node', '2',
        '--log_dir', str(log_dir), 'main.py', '-c', '1001', '-np',
        '--set', f'work_dir={work_dir}',
        '--set', f'dataset_args.ntu.root_folder={tmp_path / "npy"}',
        '--set', f'dataset_args.ntu.ntu60_path={tmp_path / "skeletons"}',
        '--set', f'scheduler_args.cosine.max_epoch={epochs}',
        '--set', 'scheduler_args.cosine.warm_up=0', *extra,
    ]


def launch(command):
    return subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_two_process_training_on_cpu(tmp_path):
    work_dir, log_dir = tmp_path / 'work', tmp_path / 'launch_logs'
    result = launch(launch_command(tmp_path, work_dir, log_dir, 1))
    rank0 = (log_dir / 'workerlog.0').read_text()
    assert result.returncode == 0, rank0[-3000:]
    assert 'Parameters are identical on all 2 processes' in rank0
    # 120 synthetic eval samples, split over two processes, each counted once
    assert 'Top-1 accuracy: ' in rank0 and '/120(' in rank0
    results = json.loads(next(work_dir.glob('*/*/eval_results.json')).read_text())
    assert results['num_samples'] == 120
    assert (work_dir / 'checkpoint.pdparams').is_file()
    # the training accuracy counts the samples of both processes
    assert 'Training accuracy: ' in rank0 and '/120(' in rank0.split('Training accuracy: ')[1]


def test_two_process_run_killed_in_epoch_2_resumes_to_the_same_parameters(tmp_path):
    straight_dir = tmp_path / 'straight'
    straight = launch(launch_command(tmp_path, straight_dir, tmp_path / 'logs_straight', 2))
    assert straight.returncode == 0, (tmp_path / 'logs_straight' / 'workerlog.0').read_text()[-3000:]

    killed_dir = tmp_path / 'killed'
    command = launch_command(tmp_path, killed_dir, tmp_path / 'logs_killed', 2)
    process = subprocess.Popen(command, cwd=REPO_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    checkpoint = killed_dir / 'checkpoint.pdparams'
    deadline = time.time() + 300
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)   # the launcher and both workers
    process.wait()
    assert paddle.load(str(checkpoint))['epoch'] == 1, 'the kill must land during epoch 2'

    log_dir = tmp_path / 'logs_resumed'
    resumed = launch(launch_command(tmp_path, killed_dir, log_dir, 2, '-r'))
    rank0 = (log_dir / 'workerlog.0').read_text()
    assert resumed.returncode == 0, rank0[-3000:]
    assert 'Resumed from' in rank0 and 'Epoch: 1/2' not in rank0
    assert 'Parameters are identical on all 2 processes' in rank0
    a, b = (paddle.load(str(d / 'checkpoint.pdparams')) for d in (straight_dir, killed_dir))
    assert a['epoch'] == b['epoch'] == 2
    for key, value in a['model'].items():
        np.testing.assert_allclose(np.asarray(b['model'][key]), np.asarray(value), atol=1e-4,
                                   err_msg=key)
