"""Shared fixtures: where the real NTU files and published checkpoints live, and the work several
test files read (the demo's synthetic data, the real files' arrays, the clips' poses, one
export), done once for the whole run: by one of pytest-xdist's workers (pytest.ini starts one per
core) while the others wait for it, and read by all.

The run starts with the tests marked slow (whole trainings and exports), spread so that each
worker begins on one of them: started last, one of them would leave the other workers idle."""
import fcntl
import os
import pickle
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('EFFICIENTGCN_SHARED', REPO.parent / 'shared'))
WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))

# Paddle's CPU kernels, set before paddle loads: one thread a worker when the workers share the
# cores (a second thread made a demo epoch 12% faster and cost a third more CPU time, spinning),
# two on the 2-core CI machine when the tests run in one process (-n 0).
os.environ.setdefault('OMP_NUM_THREADS', '1' if WORKERS > 1 else '2')
# Every python a test starts skips the huge-page restart, a speed setting that costs the tests'
# short runs more than it gives (script_runner.py has the figures); test_huge_pages removes this
# to test the restart itself.
os.environ.setdefault('EFFICIENTGCN_NO_HUGE_PAGES', '1')
# The suite runs on the CPU, a GPU machine's too (tolerances and the C-kernel paths are the
# CPU's): every process sees no GPU (an empty CUDA_VISIBLE_DEVICES, which Paddle counts as none)
# and this one's device is the CPU (pytest_configure).
os.environ['CUDA_VISIBLE_DEVICES'] = ''


def pytest_configure(config):
    import paddle
    paddle.set_device('cpu')


def pytest_collection_modifyitems(items):
    """Slow tests first, dealt to the starts of the equal parts the workers begin with
    (pytest-xdist's worksteal hands worker i the i-th part, then balances what is left)."""
    slow = [item for item in items if item.get_closest_marker('slow')]
    rest = [item for item in items if not item.get_closest_marker('slow')]
    parts = [slow[i::WORKERS] for i in range(WORKERS)]
    size = -(-len(items) // WORKERS)
    for part in parts:
        take = max(0, size - len(part))
        part.extend(rest[:take])
        del rest[:take]
    items[:] = [item for part in parts for item in part] + rest


def made_once(tmp_path_factory, name, make):
    """make(folder) run once for the whole run, its result kept in that folder: under
    pytest-xdist the first worker to ask makes it and the others wait, then read it."""
    root = tmp_path_factory.getbasetemp()
    if 'PYTEST_XDIST_WORKER' in os.environ:
        root = root.parent   # the run's folder, above each worker's own
    folder, done = root / name, root / f'{name}.done'
    with open(root / f'{name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


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
def clip_poses(clips, tmp_path_factory):
    """name -> VideoPoses of the shared clips, extracted once for the run (MediaPipe runs at
    about 20-50 frames/s here)."""
    def extract(folder):
        from reader.video import video_poses
        poses = {name: video_poses(path) for name, path in clips.items()}
        (folder / 'poses.pkl').write_bytes(pickle.dumps(poses))
    folder = made_once(tmp_path_factory, 'clip_poses', extract)
    return pickle.loads((folder / 'poses.pkl').read_bytes())


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """The demo's (config 1001's) synthetic skeleton files and arrays, generated once for the
    run under <folder>/skeletons and <folder>/npy: read-only for the tests sharing them
    (pass the folder to helpers.demo_args)."""
    return made_once(tmp_path_factory, 'demo_data', generated_demo_data)


@pytest.fixture(scope='session')
def small_demo_data(tmp_path_factory):
    """demo_data with a sixth of its samples (4 an action: 20 train, 20 eval), for the tests
    whose checks do not depend on the data's size (runs that resume, launch, export)."""
    return made_once(tmp_path_factory, 'small_demo_data',
                     lambda folder: generated_demo_data(folder, samples_per_action=4))


def generated_demo_data(folder, **synthetic):
    import generator
    from helpers import config_of
    cfg = config_of('1001', root_folder=str(folder / 'npy'), ntu60_path=str(folder / 'skeletons'))
    cfg['dataset_args']['ntu']['synthetic'].update(synthetic)
    generator.generate(cfg, progress=False)


@pytest.fixture(scope='session')
def real_arrays(real_skeleton_dir, tmp_path_factory):
    """real_arrays(config_id): the folder (a root_folder) holding the arrays -gd makes of the
    12 real files with that config's settings, generated once for the run and config;
    read-only for the tests sharing it."""
    def generated(config_id):
        def generate(folder):
            import generator
            from helpers import config_of
            generator.generate(config_of(config_id, root_folder=str(folder),
                                         ntu60_path=str(real_skeleton_dir)), progress=False)
        return made_once(tmp_path_factory, f'real_{config_id}', generate)
    return generated


@pytest.fixture(scope='session')
def exported_xsub(pretrained_dir, tmp_path_factory):
    """The published X-sub checkpoint exported once (config 2001) for every deployment test."""
    return exported_pretrained(tmp_path_factory, pretrained_dir, 'xsub', '2001')


@pytest.fixture(scope='session')
def exported_xview(pretrained_dir, tmp_path_factory):
    """The published X-view checkpoint exported once (config 2002)."""
    return exported_pretrained(tmp_path_factory, pretrained_dir, 'xview', '2002')


@pytest.fixture(scope='session')
def exported_xsub32(pretrained_dir, tmp_path_factory):
    """The published X-sub weights exported as a 32-frame model (config 2001 at num_frame 32;
    its classifier pools over frames, so the weights fit any frame count): real logits that
    differ from sample to sample, in a model that runs in milliseconds. Read-only: copy it to
    change it."""
    return exported_pretrained(tmp_path_factory, pretrained_dir, 'xsub32', '2001',
                               ['dataset_args.ntu.num_frame=32'], weights='xsub')


def exported_pretrained(tmp_path_factory, pretrained_dir, name, config_id, overrides=(),
                        weights=None):
    from exporter.program import saved_model_file
    from helpers import export_pretrained
    folder = made_once(tmp_path_factory, f'exported_{name}',
                       lambda folder: export_pretrained(pretrained_dir, folder, name, config_id,
                                                        overrides, weights))
    return saved_model_file(folder / name)
