"""Shared fixtures: where the real NTU files and published checkpoints live."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('EFFICIENTGCN_SHARED', REPO.parent / 'shared'))

# Paddle CPU kernels: two threads on the 2-core CI machine, set before paddle loads.
os.environ.setdefault('OMP_NUM_THREADS', '2')


def _need(path):
    if not path.exists():
        pytest.skip(f'{path} is absent: put the shared folder beside the repo to run this test')
    return path


@pytest.fixture(scope='session')
def real_skeleton_dir():
    """The 12 real NTU RGB+D 60 .skeleton files."""
    return _need(SHARED / 'ntu' / 'skeletons')


@pytest.fixture
def missing_list_ntu60():
    return _need(SHARED / 'ntu' / 'NTU_RGBD_samples_with_missing_skeletons.txt')


@pytest.fixture(scope='session')
def pretrained_dir():
    """The published B0 checkpoints (xsub.pdparams, xview.pdparams)."""
    return _need(SHARED / 'pretrained')
