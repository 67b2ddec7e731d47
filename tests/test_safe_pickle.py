"""Every pickle the project reads goes through utils/safe_pickle.py: the field's pose and label
pickles (written by mmengine with numpy 1 and numpy 2, protocols 2 to 5) read exactly as plain
pickle reads them, and a pickle that would run code is one error line at every entry point, with
the marker file its code would create never made."""
import ast
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from fixtures.make_pose_pickles import FOLDER as FIELD_PICKLES, contents
from helpers import run_main, run_python
from pose_files import annotation_3d, pose_config, write_pickle
from test_infer import assert_one_line_error, infer, small_model  # noqa: F401 - a fixture
from utils import safe_pickle

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- one unpickler
# (module, name) pairs that unpickle, whatever alias they are imported under
UNPICKLERS = {('pickle', 'load'), ('pickle', 'loads'), ('pickle', 'Unpickler'),
              ('_pickle', 'load'), ('_pickle', 'loads'), ('_pickle', 'Unpickler'),
              ('paddle', 'load'), ('torch', 'load'), ('pandas', 'read_pickle'),
              ('joblib', 'load'), ('dill', 'load'), ('dill', 'loads'), ('shelve', 'open'),
              ('marshal', 'load'), ('marshal', 'loads')}
# the one unpickler, and -r's paddle.load of a file that unpickler has read first
ALLOWED = {('utils/safe_pickle.py', 'pickle.Unpickler'), ('model/checkpoint.py', 'paddle.load')}


def unpickling_calls(source):
    """`module.name` of every place in the source that unpickles (imports of such a name, its
    attribute used under any alias, and a numpy load that allows pickles)."""
    tree = ast.parse(source)
    aliases, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split('.')[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f'{node.module}.{a.name}' for a in node.names
                      if (node.module.split('.')[0], a.name) in UNPICKLERS]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id, '').split('.')[0]
            if (module, node.attr) in UNPICKLERS:
                found.append(f'{module}.{node.attr}')
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == 'allow_pickle' and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    found.append('load(allow_pickle=...)')
    return found


def project_modules():
    for path in sorted(REPO.rglob('*.py')):
        relative = path.relative_to(REPO)
        if relative.parts[0] not in ('tests', '.git') and not relative.parts[0].startswith('.'):
            yield relative.as_posix(), path


def test_no_module_unpickles_outside_safe_pickle():
    offending = [(name, call) for name, path in project_modules()
                 for call in unpickling_calls(path.read_text())
                 if (name, call) not in ALLOWED]
    assert not offending, f'unpickling outside utils/safe_pickle.py: {offending}'
    assert ('utils/safe_pickle.py', 'pickle.Unpickler') in {
        (name, call) for name, path in project_modules()
        for call in unpickling_calls(path.read_text())}, 'the scan no longer sees the unpickler'


@pytest.mark.parametrize('source', [
    'import pickle\npickle.load(f)',
    'import pickle as pk\nx = pk.loads(b)',
    'from pickle import load\n',
    'from _pickle import Unpickler\n',
    'import numpy as np\nnp.load(p, allow_pickle=True)',
    'import numpy\nnumpy.load(p, mmap_mode="r", allow_pickle=flag)',
    'import paddle\npaddle.load(p)',
    'import pickle\nclass U(pickle.Unpickler):\n    pass',
])
def test_the_scan_sees_every_spelling_of_an_unpickler(source):
    assert unpickling_calls(source)


def test_the_scan_leaves_writing_and_plain_arrays_alone():
    assert not unpickling_calls('import pickle\nimport numpy as np\npickle.dump(x, f)\n'
                                'pickle.dumps(x)\nnp.load(p, mmap_mode="r")\n'
                                'np.load(p, allow_pickle=False)')


# ---------------------------------------------------------------- the field's files
FIELD_FILES = sorted(p.name for p in FIELD_PICKLES.glob('*.pkl'))


def assert_identical(read, expected, where='top'):
    """Same structure, types and values; arrays bit for bit (dtype, shape, bytes)."""
    assert type(read) is type(expected), (where, type(read), type(expected))
    if isinstance(expected, np.ndarray):
        assert read.dtype == expected.dtype and read.shape == expected.shape, where
        assert read.tobytes() == np.ascontiguousarray(expected).tobytes(), where
    elif isinstance(expected, dict):
        assert list(read) == list(expected), where
        for key in expected:
            assert_identical(read[key], expected[key], f'{where}.{key}')
    elif isinstance(expected, (list, tuple)):
        assert len(read) == len(expected), where
        for i, (a, b) in enumerate(zip(read, expected)):
            assert_identical(a, b, f'{where}[{i}]')
    else:
        assert read == expected, where


def test_the_field_files_are_all_there():
    kinds = ('pyskl_3d', 'pyskl_2d', 'mmaction_2d', 'stgcn_labels')
    assert FIELD_FILES == sorted(f'numpy{n}_{kind}_protocol{p}.pkl' for n in (1, 2)
                                 for kind in kinds for p in (2, 3, 4, 5))


@pytest.mark.parametrize('name', FIELD_FILES)
def test_field_pickles_read_as_written(name):
    """What the safe reader returns equals what the script wrote and what plain pickle reads."""
    path = FIELD_PICKLES / name
    kind = name.split('_', 1)[1].rsplit('_protocol', 1)[0]
    read = safe_pickle.load(path)
    assert_identical(read, contents(kind))
    with open(path, 'rb') as f:
        assert_identical(read, pickle.load(f))   # a test's own, trusted fixture


@pytest.mark.parametrize('name', [n for n in FIELD_FILES if 'stgcn' not in n])
def test_field_pose_files_give_the_same_annotations(name):
    from reader import load_annotations
    annotations, splits = load_annotations(FIELD_PICKLES / name)
    written = contents(name.split('_', 1)[1].rsplit('_protocol', 1)[0])
    if isinstance(written, dict) and 'annotations' in written:
        assert_identical(annotations, written['annotations'])
        assert splits == written['split']
    else:
        assert_identical(annotations, written if isinstance(written, list) else [written])


@pytest.mark.parametrize('value', [np.float32(1.5), np.int64(-3), np.bool_(True), np.float16(2),
                                   np.dtype('>u2'), np.arange(6, dtype=np.int16)[::2],
                                   np.array(['a', 'bc']), {1, 2}, frozenset('ab'), b'\x00\xff',
                                   bytearray(b'xy'), complex(1, 2), slice(1, 5, 2)])
@pytest.mark.parametrize('protocol', [2, 3, 4, 5])
def test_scalars_dtypes_and_containers_round_trip(value, protocol):
    read = safe_pickle.loads(pickle.dumps(value, protocol))
    if isinstance(value, np.ndarray):
        assert_identical(read, value)
    else:
        assert type(read) is type(value) and read == value


def test_an_object_array_holds_only_what_the_reader_allows():
    safe = np.array([1, 'a', None], dtype=object)
    assert list(safe_pickle.loads(pickle.dumps(safe))) == [1, 'a', None]
    with pytest.raises(safe_pickle.ForbiddenName, match='posix.system'):
        safe_pickle.loads(pickle.dumps(np.array([RunsCode('x')], dtype=object)))


# ---------------------------------------------------------------- pickles that would run code
class RunsCode:
    """Unpickled plainly, it creates the marker file: what a malicious pickle does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / 'PWNED'
    yield path
    assert not path.exists(), 'the pickle ran code: the marker file was created'


def test_a_plain_unpickler_would_run_the_payload(tmp_path):
    """The payload is real: pickle.loads runs it and the marker appears."""
    path = tmp_path / 'PWNED'
    pickle.loads(pickle.dumps({'keypoint': RunsCode(path)}))
    assert path.exists()


def refused(result, path):
    """One error line naming the file and the forbidden name."""
    assert_one_line_error(result, str(path), 'names posix.system', 'could run code: not read')


def test_infer_pose_file(small_model, tmp_path, marker):
    evil = write_pickle(tmp_path / 'poses.pkl',
                        {'split': {'val': ['a']}, 'annotations': [
                            dict(annotation_3d('a', 0), keypoint=RunsCode(marker))]})
    output = tmp_path / 'out.json'
    result = infer(small_model, '--pose_file', evil, '--output', output)
    refused(result, evil)
    assert not output.exists() and not result.stdout.strip()


def test_infer_label_file(small_model, tmp_path, marker):
    data = tmp_path / 'data.npy'
    np.save(data, np.zeros((2, 3, 32, 25, 2), np.float32))
    evil = write_pickle(tmp_path / 'label.pkl', (['a', 'b'], [RunsCode(marker), 1]))
    output = tmp_path / 'out.json'
    result = infer(small_model, '--data_file', data, '--label_file', evil, '--output', output)
    refused(result, evil)
    assert not output.exists() and not result.stdout.strip()


@pytest.mark.parametrize('entry', ['ann_file', 'eval_ann_file', 'videos.pkl'])
def test_generate_from_pose_files(tmp_path, marker, entry):
    """-gd reading `ann_file`, `eval_ann_file`, or a `videos.pkl` that -gd from videos wrote
    elsewhere, handed on as `ann_file`: one line, and no array written."""
    good = write_pickle(tmp_path / 'good.pkl', {'split': {'train': ['a'], 'val': ['a']},
                                                 'annotations': [annotation_3d('a', 0)]})
    name = 'videos.pkl' if entry == 'videos.pkl' else 'evil.pkl'
    evil = write_pickle(tmp_path / name, {'split': {'train': ['b'], 'val': ['b']}, 'annotations': [
        dict(annotation_3d('b', 0), keypoint=RunsCode(marker))]})
    files = {'ann_file': good, 'eval_ann_file': evil} if entry == 'eval_ann_file' else \
        {'ann_file': evil}
    out = tmp_path / 'out'
    sets = [f'dataset_args.pose.root_folder={out}', 'dataset_args.pose.layout=ntu',
            'dataset_args.pose.keypoint_dim=3', 'dataset_args.pose.num_class=10',
            'dataset_args.pose.max_frame=16', 'dataset_args.pose.synthetic=null',
            'dataset_args.pose.eval_split=val',
            *[f'dataset_args.pose.{key}={path}' for key, path in files.items()]]
    result = run_main('-c', '1002', '-gd', '-np', *[a for s in sets for a in ('--set', s)])
    refused(result, evil)
    assert not list(out.rglob('*.npy')) and not list(out.rglob('*.pkl'))


def test_generated_label_pickle_read_by_training(tmp_path, marker):
    from helpers import config_of
    from dataset.ntu_feeder import NTU_Feeder
    from utils.errors import UserError
    folder = tmp_path / 'original' / 'ntu-xsub'
    folder.mkdir(parents=True)
    np.save(folder / 'train_data.npy', np.zeros((1, 3, 16, 25, 2), np.float32))
    write_pickle(folder / 'train_label.pkl', (['a'], [0], [RunsCode(marker)]))
    args = config_of('2001', root_folder=str(tmp_path), num_frame=16)['dataset_args']['ntu']
    with pytest.raises(UserError, match=r'train_label.pkl names posix.system'):
        NTU_Feeder('train', 'ntu-xsub', args, connect_joint=np.zeros(25, int))


def test_visualise_score_cache(tmp_path, marker):
    """-v with an earlier run's eval_scores.pkl under the same key: a safe one is reused (so
    the key matches), one that would run code is one line and no run folder is made."""
    import paddle
    import yaml
    from fake_data import write_generated_split
    from helpers import tiny_config
    from initializer import build_model
    from utils import score_cache
    from utils.config import load_config
    labels = [0, 5, 9, 1]
    write_generated_split(tmp_path / 'data' / 'original' / 'ntu-xsub120', 'eval', labels,
                          frames=20, seed=2)
    cfg = tiny_config(load_config('2003'), tmp_path / 'data', tmp_path / 'work', num_frame=16)
    net, *_ = build_model(cfg)
    checkpoint = tmp_path / 'model.pdparams'
    paddle.save({'model': net.state_dict()}, str(checkpoint))
    config = tmp_path / 'config.yaml'
    config.write_text(yaml.safe_dump(cfg))
    earlier = tmp_path / 'work' / 'earlier' / 'run'
    earlier.mkdir(parents=True)
    key = score_cache.scores_key(dict(cfg, pretrained_path=str(checkpoint)))
    (earlier / score_cache.SCORES_KEY_NAME).write_text(json.dumps(key))
    names = [f'S001C001P{p:03d}R001A{label + 1:03d}' for p, label in enumerate(labels)]
    scores = {n: np.zeros(120, np.float32) for n in names}
    args = ['-c', config, '-v', '-pp', checkpoint, '-vs', 0]

    write_pickle(earlier / score_cache.SCORES_NAME, dict(scores, **{names[0]: RunsCode(marker)}))
    refused(run_main(*args), earlier / score_cache.SCORES_NAME)
    assert [p.name for p in (tmp_path / 'work').iterdir()] == ['earlier']

    write_pickle(earlier / score_cache.SCORES_NAME, scores)
    result = run_main(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    log = next((tmp_path / 'work').glob('*/*/log.txt')).read_text()
    assert 'Reusing the eval scores' in log


def test_resume_from_a_given_checkpoint(tmp_path, marker):
    evil = tmp_path / 'run.pdparams'
    write_pickle(evil, {'model': {}, 'opt': RunsCode(marker), 'epoch': 1})
    result = run_main('-c', '1001', '-r', evil, '-np', '--set', f'work_dir={tmp_path / "work"}')
    refused(result, evil)
    assert not (tmp_path / 'work').exists()
