"""The authors' PyTorch checkpoints (.pth.tar) wherever -pp takes a checkpoint, read without
PyTorch and without running anything a file names; a checkpoint that does not fit the config
names the configs it fits."""
import io
import os
import pickle
import pickletools
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import run_main, run_python, set_args, tiny_config
from fake_data import write_generated_split
from utils.errors import UserError

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
AUTHORS_FILE = FIXTURES / 'tiny_official.pth.tar'
sys.path.insert(0, str(FIXTURES))
import make_torch_checkpoint as fixture  # noqa: E402


@pytest.fixture
def without_torch(tmp_path):
    """An environment in which `import torch` fails, in the process and any it starts."""
    shim = tmp_path / 'no_torch' / 'torch'
    shim.mkdir(parents=True)
    (shim / '__init__.py').write_text('raise ImportError("PyTorch is hidden from this test")\n')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(shim.parent),
                                                      env.get('PYTHONPATH')]))
    assert run_python('-c', 'import torch', env=env).returncode != 0
    return env


def pickle_globals(data):
    """`module name` of every global a pickle names (protocol 2 writes them as GLOBAL)."""
    return {arg for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'}


def test_the_fixture_is_the_authors_layout():
    """What torch.save wrote for the authors' processor: the names their pickle holds, and
    the model, an SGD-nesterov state with momentum buffers, a LambdaLR state, best_state with
    floats and an int64 60x60 confusion matrix, an int epoch."""
    with zipfile.ZipFile(AUTHORS_FILE) as archive:
        names = pickle_globals(archive.read('tiny_official.pth/data.pkl'))
    assert {'torch._utils _rebuild_tensor_v2', 'torch FloatStorage', 'torch LongStorage',
            'collections OrderedDict', 'numpy ndarray', 'numpy dtype', '_codecs encode'} <= names
    assert any(name.endswith('multiarray _reconstruct') for name in names)
    from model.checkpoint import read_file
    raw = read_file(AUTHORS_FILE)
    assert list(raw) == ['model', 'optimizer', 'scheduler', 'best_state', 'epoch']
    assert type(raw['epoch']) is int and raw['epoch'] == 66
    best = raw['best_state']
    assert type(best['acc_top1']) is float and type(best['acc_top5']) is float
    assert best['cm'].dtype == np.int64 and best['cm'].shape == (60, 60) and best['cm'].any()
    group = raw['optimizer']['param_groups'][0]
    assert group['nesterov'] is True and group['momentum'] == 0.9
    trainable = [k for k in raw['model'] if fixture.trainable(k)]
    buffers = [state['momentum_buffer'] for state in raw['optimizer']['state'].values()]
    assert len(buffers) == len(trainable) and all(np.abs(b).max() > 0 for b in buffers)
    assert raw['scheduler']['last_epoch'] == 1 and raw['scheduler']['lr_lambdas'] == [None]
    assert 'input_branches.0.init_bn.running_mean' in raw['model']
    assert 'input_branches.0.init_bn.num_batches_tracked' in raw['model']


def test_the_authors_file_loads_without_pytorch_and_gives_pytorchs_logits(without_torch):
    """In a process where torch cannot be imported: the state in Paddle's names, and the
    logits PyTorch computed from the same file's weights within 1e-5."""
    code = (f'import sys; sys.path[:0] = [{str(FIXTURES)!r}]; '
            'import numpy as np, paddle, make_torch_checkpoint as f; '
            'from initializer import build_model; '
            'from model.checkpoint import load_checkpoint, load_model_state, model_state_of, '
            'record_of; '
            f'c = load_checkpoint({str(AUTHORS_FILE)!r}); '
            'net = build_model(f.tiny_config())[0]; '
            'load_model_state(net, model_state_of(c), "fixture"); net.eval(); '
            'print(record_of(c)); '
            'np.save(sys.argv[1], net(paddle.to_tensor(f.fixed_input()))[0].numpy())')
    out = FIXTURES.parent.parent / 'tmp_torch_fixture_logits.npy'
    try:
        result = run_python('-c', code, out, env=without_torch)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == 'epoch 66, top-1 89.87%'
        expected = np.load(FIXTURES / 'tiny_official_logits.npy')
        np.testing.assert_allclose(np.load(out), expected, rtol=0, atol=1e-5)
        assert np.abs(expected).max() > 0.5 and expected.std() > 0.1
    finally:
        out.unlink(missing_ok=True)


def test_pp_evaluates_the_authors_file_without_pytorch(tmp_path, without_torch):
    """main.py -e -pp on the authors' file where torch cannot be imported: its record logged,
    the step counters dropped with one line, every eval sample scored."""
    root = tmp_path / 'data'
    write_generated_split(root / 'original' / 'ntu-xsub', 'eval', [i % 4 for i in range(6)],
                          frames=40)
    cfg = tiny_config(fixture.tiny_config(), root, tmp_path / 'work')
    config = tmp_path / 'tiny.yaml'
    config.write_text(yaml.safe_dump(cfg))
    result = run_main('-c', config, '-e', '-np', '-pp', AUTHORS_FILE, env=without_torch)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Loaded {AUTHORS_FILE} (its record: epoch 66, top-1 89.87%)' in result.stdout
    assert result.stdout.count('num_batches_tracked') == 1
    assert 'Top-1 accuracy: ' in result.stdout and '/6(' in result.stdout


def test_the_batch_norm_names_become_paddles():
    from model.checkpoint import load_checkpoint
    state = load_checkpoint(AUTHORS_FILE)['model']
    assert not any(k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))
                   for k in state)
    assert 'input_branches.0.init_bn._mean' in state and state['classifier.fc.weight'].ndim == 5


def test_the_older_format_is_read_without_pytorch():
    """PyTorch's pre-1.6 format (legacy_format.pth, written by torch.save): strided views,
    integer, half and bfloat16 tensors come back with their values."""
    from model.checkpoint import file_format, read_file
    assert file_format(FIXTURES / 'legacy_format.pth') == 'legacy'
    loaded = read_file(FIXTURES / 'legacy_format.pth')
    expected = fixture.legacy_values()
    assert loaded['epoch'] == expected['epoch']
    for key, value in loaded['model'].items():
        assert value.dtype == expected[key].dtype, key
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_numpy_scalars_under_numpy_1_and_2_names():
    """numpy writes scalars as multiarray.scalar, numpy 1 under numpy.core, numpy 2 under
    numpy._core; both read, with bytes in protocol 2's _codecs.encode form."""
    from utils.safe_pickle import SafeUnpickler
    data = pickle.dumps({'acc': np.float64(0.75), 'n': np.int64(3), 'cm': np.eye(2)}, protocol=2)
    assert b'_codecs' in data
    for text in (data, data.replace(b'numpy._core.', b'numpy.core.')):
        loaded = SafeUnpickler(io.BytesIO(text)).load()
        assert loaded['acc'] == 0.75 and type(loaded['acc']) is np.float64
        assert loaded['n'] == 3 and np.array_equal(loaded['cm'], np.eye(2))


# ---------------------------------------------------------------- files that would run code
class _Runs:
    def __init__(self, function, *args):
        self.call = (function, args)

    def __reduce__(self):
        return self.call


def _code_that_touches(marker):
    """name -> an object whose unpickling calls that name to write `marker`."""
    return {'os.system': _Runs(os.system, f'touch {marker}'),
            'builtins.eval': _Runs(eval, f'open({str(marker)!r}, "w")'),
            'subprocess.Popen': _Runs(subprocess.Popen, ['touch', str(marker)])}


def _dumps(content):
    """Protocol 2, as torch.save writes; os.system under the name os, as written on any system
    (CPython pickles it as posix.system on Linux)."""
    return pickle.dumps(content, protocol=2).replace(b'cposix\nsystem\n', b'cos\nsystem\n')


def _as_paddle_file(payload, path):
    path.write_bytes(_dumps({'model': payload}))


def _as_torch_zip(payload, path):
    with zipfile.ZipFile(AUTHORS_FILE) as source, zipfile.ZipFile(path, 'w') as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith('data.pkl'):
                data = _dumps({'model': {}, 'epoch': payload})
            target.writestr(item, data)


def _as_torch_legacy(payload, path):
    path.write_bytes(b''.join(_dumps(part) for part in (
        0x1950a86a20f9469cfc6c, 1001, {'little_endian': True}, {'model': payload})))


@pytest.mark.parametrize('container,kind', [(_as_paddle_file, 'pickle'), (_as_torch_zip, 'zip'),
                                            (_as_torch_legacy, 'legacy')])
def test_a_file_naming_code_runs_nothing(tmp_path, container, kind):
    """os.system, builtins.eval and subprocess.Popen in a Paddle pickle, a PyTorch zip and
    PyTorch's older format: a UserError naming the file and the name, and the marker file the
    code would write is never written."""
    from model.checkpoint import file_format, load_checkpoint
    marker = tmp_path / 'marker'
    for name, payload in _code_that_touches(marker).items():
        path = tmp_path / f'{name}.pth.tar'
        container(payload, path)
        assert file_format(path) == kind
        with pytest.raises(UserError) as caught:
            load_checkpoint(path)
        assert str(path) in str(caught.value) and f'names {name}' in str(caught.value)
        assert not marker.exists(), f'{name} ran'


def test_code_in_a_file_is_one_error_line_from_main(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pdparams'
    _as_paddle_file(_code_that_touches(marker)['os.system'], path)
    result = run_main('-c', '2001', '-e', '-pp', path)
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert errors == [f'error: checkpoint {path} (a Paddle pickle) names os.system, which no '
                      'checkpoint holds and which could run code: not read (open only files '
                      'from people you trust)']
    assert not marker.exists()


# ---------------------------------------------------------------- misfits
def test_a_misfit_checkpoint_names_what_it_is_and_the_configs_that_fit(tmp_path,
                                                                       pretrained_dir):
    result = run_main('-c', '2005', '-e', '-pp', pretrained_dir / 'xsub.pdparams',
                      '--set', f'dataset_args.ntu.root_folder={tmp_path}')
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, result.stderr
    assert 'does not fit' in errors[0]
    assert 'EfficientGCN-B0 with SG layers, 60 classes: configs 2001, 2002, 3001, 3002 fit' \
        in errors[0]


def test_published_xsub_in_the_official_layout_evaluates_to_the_published_logits(
        tmp_path, pretrained_dir, real_arrays):
    """The published X-sub weights written as the official code writes them (torch.save; this
    test needs PyTorch to write the file, not to read it): -e on the 12 real files gives the
    logits of the published Paddle checkpoint within 1e-4."""
    pytest.importorskip('torch', reason='writing the official-layout file needs PyTorch')
    from model.checkpoint import load_checkpoint
    official = tmp_path / 'xsub.pth.tar'
    fixture.save_official(load_checkpoint(pretrained_dir / 'xsub.pdparams')['model'], official)
    scores = {}
    for name, checkpoint in (('official', official),
                             ('paddle', pretrained_dir / 'xsub.pdparams')):
        work = tmp_path / name
        result = run_main('-c', '2001', '-e', '-np', '-g', '-pp', checkpoint, '-w', work,
                          *set_args(f'dataset_args.ntu.root_folder={real_arrays("2001")}'))
        assert result.returncode == 0, result.stderr[-3000:]
        assert 'Top-1 accuracy: 6/7(' in result.stdout
        with open(next(work.glob('*/*/eval_scores.pkl')), 'rb') as f:
            scores[name] = pickle.load(f)
    assert scores['official'].keys() == scores['paddle'].keys() and len(scores['paddle']) == 7
    for sample, logits in scores['paddle'].items():
        np.testing.assert_allclose(scores['official'][sample], logits, rtol=0, atol=1e-4)
