"""The worked example of docs/layout.md: an attention type added to model/attentions.py alone trains on
the demo at once, evaluates and exports."""
import re
import shutil
import subprocess
import sys

import pytest

from helpers import demo_args
from utils.config import REPO_DIR

IGNORED = shutil.ignore_patterns('.git', 'data', 'workdir', '__pycache__')


def readme_attention_code():
    text = (REPO_DIR / 'docs' / 'layout.md').read_text()
    section = text.split('## Adding an attention type')[1]
    return re.search(r'```python[^\n]*\n(.*?)```', section, re.S).group(1)


@pytest.mark.slow
def test_an_attention_added_to_model_alone_trains_on_the_demo(tmp_path, small_demo_data):
    tree = tmp_path / 'repo'
    shutil.copytree(REPO_DIR, tree, ignore=IGNORED)
    with open(tree / 'model' / 'attentions.py', 'a') as f:
        f.write('\n\n' + readme_attention_code())
    work = tmp_path / 'work'
    command = [sys.executable, 'main.py', *map(str, demo_args(
        small_demo_data, work, 'model_args.att_type=ga', 'scheduler_args.cosine.max_epoch=1',
        'scheduler_args.cosine.warm_up=0', 'dataset_args.ntu.num_frame=8'))]   # a sixth of the demo's samples at half its frames:
    # what it checks (trains, evaluates, exports) needs no more
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=900,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Epoch: 1/1, Training accuracy' in result.stdout
    assert 'Top-1 accuracy' in result.stdout and 'Finished training' in result.stdout
    best = next(work.glob('*/*/best.pdparams'))
    exported = subprocess.run(command + ['-ex', '-pp', str(best), '-g'], cwd=tree,
                              capture_output=True, text=True, timeout=900,
                              stdin=subprocess.DEVNULL)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert 'saved model matches the dygraph model' in exported.stdout
