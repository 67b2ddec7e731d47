"""Training end to end on small generated-format data: outputs, exact resume, evaluation."""
import json
import pickle

import numpy as np
import paddle
import pytest
import yaml

from commands import kill_once_written, run_main
from utils.config import load_config
from fake_data import tiny_config, write_generated_split


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('generated')
    folder = root / 'original' / 'ntu-xsub'
    write_generated_split(folder, 'train', [i % 4 for i in range(24)])
    write_generated_split(folder, 'eval', [i % 4 for i in range(10)], seed=1)
    return root


def write_config(tmp_path, data_root, work_dir, epochs=2):
    cfg = tiny_config(load_config('2001'), data_root, work_dir, epochs=epochs)
    path = tmp_path / f'tiny_{work_dir.name}.yaml'
    path.write_text(yaml.safe_dump(cfg))
    return path


def final_model(work_dir):
    return paddle.load(str(work_dir / 'checkpoint.pdparams'))


def test_training_writes_the_run_outputs(tmp_path, data_root):
    work_dir = tmp_path / 'work'
    result = run_main('-c', str(write_config(tmp_path, data_root, work_dir)))
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = next(work_dir.glob('*/*/'))
    assert {'log.txt', 'config.yaml', 'best.pdparams', 'eval_results.json',
            'eval_scores.pkl'} <= {p.name for p in run_dir.iterdir()}
    assert list(run_dir.glob('events.out.tfevents.*'))
    log = (run_dir / 'log.txt').read_text()
    assert 'Epoch: 2/2, Training accuracy' in log and 'Top-1 accuracy' in log
    results = json.loads((run_dir / 'eval_results.json').read_text())
    assert results['num_samples'] == 10 and results['epoch'] == 2
    scores = pickle.load(open(run_dir / 'eval_scores.pkl', 'rb'))
    assert len(scores) == 10 and next(iter(scores.values())).shape == (60,)
    checkpoint = final_model(work_dir)
    assert checkpoint['epoch'] == 2 and {'model', 'opt', 'scheduler', 'best_state',
                                         'rng'} <= set(checkpoint)
    assert not list(work_dir.glob('*.tmp'))


def test_killed_run_resumes_to_the_same_parameters(tmp_path, data_root):
    straight = tmp_path / 'straight'
    assert run_main('-c', str(write_config(tmp_path, data_root, straight))).returncode == 0

    killed = tmp_path / 'killed'
    config = write_config(tmp_path, data_root, killed)
    checkpoint = killed / 'checkpoint.pdparams'
    kill_once_written(['main.py', '-c', config], checkpoint)
    assert paddle.load(str(checkpoint))['epoch'] == 1, 'the kill must land during epoch 2'

    resumed = run_main('-c', str(config), '-r')
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'Resumed from' in resumed.stdout and 'Epoch: 1/2' not in resumed.stdout
    a, b = final_model(straight), final_model(killed)
    assert a['epoch'] == b['epoch'] == 2
    for key, value in a['model'].items():
        np.testing.assert_allclose(np.asarray(b['model'][key]), np.asarray(value), atol=1e-4,
                                   err_msg=key)


def test_resume_without_checkpoint_is_one_line(tmp_path, data_root):
    result = run_main('-c', str(write_config(tmp_path, data_root, tmp_path / 'none')), '-r')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f'error: checkpoint {tmp_path / "none" / "checkpoint.pdparams"} does not exist']


def test_evaluate_scores_every_sample_and_names_bad_checkpoints(tmp_path, data_root):
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, data_root, work_dir, epochs=1)
    assert run_main('-c', str(config)).returncode == 0
    best = next(work_dir.glob('*/*/best.pdparams'))
    result = run_main('-c', str(config), '-e', '-pp', str(best))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'Top-1 accuracy' in result.stdout and '/10(' in result.stdout
    wrong = run_main('-c', str(config), '-mt', 'EfficientGCN-B2', '-e', '-pp', str(best))
    assert wrong.returncode == 1 and 'does not fit' in wrong.stderr and 'key' in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_cpu_fallback_notices_for_gpus_and_amp(tmp_path, data_root):
    if paddle.device.is_compiled_with_cuda():
        pytest.skip('this Paddle build has CUDA')
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, data_root, work_dir, epochs=1)
    result = run_main('-c', str(config), '-g', '0', '--amp')
    assert result.returncode == 0 and 'running on the CPU' in result.stdout
    assert '--amp is only used on GPU' in result.stdout
