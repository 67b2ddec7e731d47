"""Shared fixtures: where the real NTU files and published checkpoints live, and the demo's
synthetic data generated once per session."""
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


# ---------------------------------------------------------------- the real clips
VIDEO_DIR = SHARED / 'video'
DRINK_CLIP = 'S001C001P001R001A001_rgb.avi'   # NTU: drink water, one person, Kinect's mirror
HUG_CLIP = 'ntu_sample.avi'                   # pyskl's sample: two people hugging


def need_mediapipe():
    """Skip, with its message, where MediaPipe or OpenCV (requirements-video.txt) is unusable."""
    from reader.video import VideoSetupError, landmarks
    try:
        landmarks.import_mediapipe()
    except VideoSetupError as e:
        pytest.skip(str(e))


def need_clip(name):
    return _need(VIDEO_DIR / name)


@pytest.fixture(scope='session')
def clips():
    """name -> path of the two shared clips."""
    need_mediapipe()
    return {name: need_clip(name) for name in (DRINK_CLIP, HUG_CLIP)}


@pytest.fixture(scope='session')
def clip_poses(clips):
    """name -> VideoPoses of the shared clips, extracted once per session (MediaPipe runs at
    about 20 frames/s here)."""
    from reader.video import video_poses
    return {name: video_poses(path) for name, path in clips.items()}


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """The demo's (config 1001's) synthetic skeleton files and arrays, generated once for the
    session under <folder>/skeletons and <folder>/npy: read-only for the tests sharing them
    (pass the folder to helpers.demo_args)."""
    import generator
    from helpers import config_of
    folder = tmp_path_factory.mktemp('demo_data')
    generator.generate(config_of('1001', root_folder=str(folder / 'npy'),
                                 ntu60_path=str(folder / 'skeletons')), progress=False)
    return folder


@pytest.fixture(scope='session')
def real_arrays(real_skeleton_dir, tmp_path_factory):
    """real_arrays(config_id): the folder (a root_folder) holding the arrays -gd makes of the
    12 real files with that config's settings, generated once per session and config;
    read-only for the tests sharing it."""
    import generator
    from helpers import config_of
    folders = {}

    def generated(config_id):
        if config_id not in folders:
            folder = tmp_path_factory.mktemp(f'real_{config_id}')
            generator.generate(config_of(config_id, root_folder=str(folder),
                                         ntu60_path=str(real_skeleton_dir)), progress=False)
            folders[config_id] = folder
        return folders[config_id]
    return generated


@pytest.fixture(scope='session')
def exported_xsub(pretrained_dir, tmp_path_factory):
    """The published X-sub checkpoint exported once (config 2001) for every deployment test."""
    from helpers import export_pretrained
    return export_pretrained(pretrained_dir, tmp_path_factory.mktemp('xsub'), 'xsub', '2001')
