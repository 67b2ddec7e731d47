"""The README's first command: the demo generates, trains, evaluates and saves on the CPU."""
import json

import numpy as np
import pytest

from helpers import demo_args, run_main, set_args


@pytest.mark.slow
def test_demo_reaches_80_percent(tmp_path):
    work_dir = tmp_path / 'work'
    result = run_main(*demo_args(tmp_path, work_dir), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / 'skeletons').glob('*.skeleton'))) == 240     # generated
    assert (tmp_path / 'npy' / 'original' / 'ntu-xsub' / 'eval_data.npy').is_file()
    run_dir = next(work_dir.glob('*/*/'))
    best = json.loads((run_dir / 'eval_results.json').read_text())
    assert best['num_samples'] == 120
    assert 'Finished training. Best top-1' in result.stdout
    best_top1 = float(result.stdout.split('Finished training. Best top-1 ')[1].split('%')[0])
    assert best_top1 >= 80.0, result.stdout[-3000:]
    assert (run_dir / 'best.pdparams').is_file() and (run_dir.parent / 'checkpoint.pdparams').is_file()


@pytest.mark.slow
def test_pose_demo_reaches_80_percent(tmp_path):
    """-c 1002: synthetic 2D COCO-17 annotations are written, converted, trained and evaluated."""
    work_dir = tmp_path / 'work'
    ann_file = tmp_path / 'poses' / 'synthetic_2d.pkl'
    sets = set_args(f'work_dir={work_dir}', f'dataset_args.pose.root_folder={tmp_path / "npy"}',
                    f'dataset_args.pose.ann_file={ann_file}')
    result = run_main('-c', '1002', '-np', *sets, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ann_file.is_file()
    data = tmp_path / 'npy' / 'original' / 'pose-demo' / 'eval_data.npy'
    assert np.load(data, mmap_mode='r').shape == (120, 3, 16, 17, 2)
    run_dir = next(work_dir.glob('*/*/'))
    best = json.loads((run_dir / 'eval_results.json').read_text())
    assert best['num_samples'] == 120
    best_top1 = float(result.stdout.split('Finished training. Best top-1 ')[1].split('%')[0])
    assert best_top1 >= 80.0, result.stdout[-3000:]
