"""The two scripts of the docs, as written there: deploy.Recognizer on the exported X-sub model
(docs/deployment.md), and Processor training and evaluating the demo (docs/training.md). Each
runs in a folder holding the files its comments name (links to the shared files), in a python
of its own."""
import os
import re
import subprocess
import sys

import pytest

from utils.config import REPO_DIR


def docs_snippet(page, heading):
    """The first ```python block after `heading` in docs/<page>."""
    section = (REPO_DIR / 'docs' / page).read_text().split(heading + '\n')[1]
    return re.search(r'```python[^\n]*\n(.*?)```', section, re.S).group(1)


def run_snippet(code, folder):
    result = subprocess.run([sys.executable, '-c', code], cwd=folder, capture_output=True,
                            text=True, timeout=900, stdin=subprocess.DEVNULL,
                            env={**os.environ, 'PYTHONPATH': str(REPO_DIR)})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_the_recognizer_script_runs(exported_xsub, real_skeleton_dir, tmp_path):
    from pose_files import write_ntu_annotations
    for suffix in ('.json', '.pdiparams', '.yml'):
        (tmp_path / f'xsub{suffix}').symlink_to(exported_xsub.with_suffix(suffix))
    (tmp_path / 'skeletons').symlink_to(real_skeleton_dir)
    write_ntu_annotations(real_skeleton_dir.glob('*.skeleton'), tmp_path / 'poses.pkl')
    result = run_snippet(docs_snippet('deployment.md', '## Deployment from a script'), tmp_path)
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith('S0')]) == 12
    first = next(line for line in lines if line.startswith('S001C001P001R001A001: '))
    assert first.endswith('true class 0'), first   # A001: drink water, class 0
    assert '(7, 60) []' in lines[-1]


@pytest.mark.slow
def test_the_processor_script_runs(small_demo_data, tmp_path):
    demo = tmp_path / 'data' / 'demo'
    demo.mkdir(parents=True)
    (demo / 'npy_dataset').symlink_to(small_demo_data / 'npy')
    (demo / 'skeletons').symlink_to(small_demo_data / 'skeletons')
    result = run_snippet(docs_snippet('training.md', '## Training from a script'), tmp_path)
    assert re.search(r'^top-1 \d+\.\d\d% of 20 samples$', result.stdout, re.M), result.stdout
    trained = list((tmp_path / 'workdir' / 'demo').glob('*/*/best.pdparams'))
    assert len(trained) == 1 and (trained[0].parent / 'log.txt').is_file()
    runs = {path.parent for path in (tmp_path / 'workdir' / 'demo').glob('*/*/log.txt')}
    assert len(runs) == 2   # training's and evaluation's

