"""-e with the published checkpoints on the real NTU files, generated with 2001 / 2002 settings."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

import generator
from utils import REPO_DIR, load_config

# (config, checkpoint, eval samples in that benchmark's split, expected top-1 correct)
CASES = [('2001', 'xsub', 7, 6), ('2002', 'xview', 5, 5)]


@pytest.mark.parametrize('config_id,checkpoint,num_eval,num_correct', CASES)
def test_evaluate_published_checkpoint(tmp_path, real_skeleton_dir, pretrained_dir, config_id,
                                       checkpoint, num_eval, num_correct):
    cfg = load_config(config_id)
    cfg['dataset_args']['ntu'].update(root_folder=str(tmp_path / 'npy'),
                                      ntu60_path=str(real_skeleton_dir))
    generator.generate(cfg, progress=False)
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        [sys.executable, 'main.py', '-c', config_id, '-e', '-np', '-g',
         '-pp', str(pretrained_dir / f'{checkpoint}.pdparams'), '-w', str(work_dir),
         '--set', f'dataset_args.ntu.root_folder={tmp_path / "npy"}'],
        cwd=REPO_DIR, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Top-1 accuracy: {num_correct}/{num_eval}(' in result.stdout
    run_dir = next(work_dir.glob('*/*/'))
    results = json.loads((run_dir / 'eval_results.json').read_text())
    assert results['num_samples'] == num_eval and results['top1_count'] == num_correct
    scores = pickle.load(open(run_dir / 'eval_scores.pkl', 'rb'))
    assert len(scores) == num_eval
    for name, logits in scores.items():
        assert logits.dtype == np.float32 and logits.shape == (60,)
        assert name.startswith('S0') and '.' not in name
