"""Two CPU processes under paddle.distributed.launch train the demo for one epoch."""
import json
import subprocess
import sys

from utils import REPO_DIR


def test_two_process_training_on_cpu(tmp_path):
    work_dir, log_dir = tmp_path / 'work', tmp_path / 'launch_logs'
    command = [
        sys.executable, '-m', 'paddle.distributed.launch', '--nproc_per_node', '2',
        '--log_dir', str(log_dir), 'main.py', '-c', '1001', '-np',
        '--set', f'work_dir={work_dir}',
        '--set', f'dataset_args.ntu.root_folder={tmp_path / "npy"}',
        '--set', f'dataset_args.ntu.ntu60_path={tmp_path / "skeletons"}',
        '--set', 'scheduler_args.cosine.max_epoch=1', '--set', 'scheduler_args.cosine.warm_up=0',
    ]
    result = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
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
