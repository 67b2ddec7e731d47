"""infer.py (Paddle Inference on an exported model) against the dygraph model.

The published checkpoints on the 12 real skeleton files, a random small model of every temporal
layer type, and the one-line errors (pose-annotation files: test_infer_pose.py). infer.py and the export run in subprocesses, as a user runs
them; the shared folder is read-only, so checkpoints are exported through a symlink in tmp_path.
"""
import json
import pickle
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

import initializer
from conftest import made_once
from helpers import export, run_python
from utils.config import apply_overrides, load_config
from dataset.inputs import build_inputs
from model.checkpoint import load_checkpoint, load_model_state, model_state_of
from random_weights import delete_first_batch_norm, randomise
from reader import load_sample, parse_name, write_synthetic_dataset

SMALL = ['dataset_args.ntu.num_frame=32']   # a few-second model for round trips and errors


# ---------------------------------------------------------------- helpers
def onnx_file_of(model_file):
    """The .onnx that -ex wrote beside a Paddle model file; skips where the ONNX packages are
    absent (requirements.txt installs them)."""
    pytest.importorskip('paddle2onnx', reason='pip install paddle2onnx onnxruntime')
    pytest.importorskip('onnxruntime', reason='pip install paddle2onnx onnxruntime')
    path = Path(model_file).with_suffix('.onnx')
    assert path.is_file(), 'main.py -ex wrote no .onnx although paddle2onnx is installed'
    return path


RUNTIMES = ['paddle', 'onnx']


def model_file_for(runtime, model_file):
    return onnx_file_of(model_file) if runtime == 'onnx' else model_file


def infer(model_file, *args):
    return run_python('infer.py', '--model_file', model_file, *args)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith('error:')]


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def dygraph_model(cfg, state=None, seed=0):
    """The config's model in eval mode and its graph: with the state given, else with random
    weights and batch-norm statistics (random_weights.randomise)."""
    net, graph, *_ = initializer.build_model(cfg)
    if state is not None:
        load_model_state(net, state, 'test checkpoint')
    else:
        randomise(net, seed)
    net.eval()
    return net, graph


def dygraph_logits(net, inputs, batch_size=2):
    """Two samples a pass: a 300-frame pass of the plain model was a third faster than at 12."""
    with paddle.no_grad():
        return np.concatenate([net(paddle.to_tensor(inputs[i:i + batch_size]))[0].numpy()
                               for i in range(0, len(inputs), batch_size)])


def logits_of(output_file, names):
    results = json.loads(Path(output_file).read_text())
    assert sorted(results) == sorted(names)
    return np.array([results[name]['logits'] for name in names]), results


def random_checkpoint(cfg, path, seed=0):
    paddle.seed(seed)
    net, graph = dygraph_model(cfg, seed=seed)
    paddle.save({'model': net.state_dict()}, str(path))
    return net, graph


def write_data_file(folder, data, labels):
    """A generated-format split: {phase}_data.npy and its (paths, labels, lengths) pickle."""
    np.save(folder / 'eval_data.npy', data)
    names = [f'S001C001P{i + 1:03d}R001A{label + 1:03d}' for i, label in enumerate(labels)]
    with open(folder / 'eval_label.pkl', 'wb') as f:
        pickle.dump(([f'{name}.skeleton' for name in names], labels, [data.shape[2]] * len(data)),
                    f)
    return folder / 'eval_data.npy', folder / 'eval_label.pkl', names


def true_labels(files):
    return [parse_name(f.name)['action'] - 1 for f in files]


# ---------------------------------------------------------------- published checkpoints
@pytest.fixture(scope='session')
def xsub_dygraph_logits(pretrained_dir, real_skeleton_dir, tmp_path_factory):
    """The published X-sub model's dygraph logits on the 12 real files, one row a file."""
    def computed(folder):
        files = sorted(real_skeleton_dir.glob('*.skeleton'))
        checkpoint = load_checkpoint(pretrained_dir / 'xsub.pdparams')
        net, graph = dygraph_model(load_config('2001'), model_state_of(checkpoint))
        inputs = np.stack([build_inputs(load_sample(f)[0][:, :288], 'JVB', graph.connect_joint)
                           for f in files])
        np.save(folder / 'logits.npy', dygraph_logits(net, inputs))
    return np.load(made_once(tmp_path_factory, 'xsub_dygraph_logits', computed) / 'logits.npy')


@pytest.mark.slow
@pytest.mark.parametrize('runtime', RUNTIMES)
def test_xsub_on_real_skeletons_gives_the_dygraph_logits_at_batch_1_and_5(
        exported_xsub, xsub_dygraph_logits, real_skeleton_dir, tmp_path, runtime):
    model_file = model_file_for(runtime, exported_xsub)
    files = sorted(real_skeleton_dir.glob('*.skeleton'))
    assert len(files) == 12
    names = [f.name.split('.')[0] for f in files]
    # batch 5: two full batches and a short one; batch 1 on the first three files
    output = tmp_path / 'batch5.json'
    result = infer(model_file, '--skeleton', real_skeleton_dir, '--batch-size', 5,
                   '--output', output)
    assert result.returncode == 0, result.stderr
    got, results = logits_of(output, names)
    np.testing.assert_allclose(got, xsub_dygraph_logits, atol=1e-4, rtol=0)
    preds = [results[name]['pred'] for name in names]
    assert sum(p == y for p, y in zip(preds, true_labels(files))) == 11
    assert 'Top-1 accuracy: 11/12' in result.stdout
    result = infer(model_file, '--skeleton', *files[:3], '--batch-size', 1, '--output', output)
    assert result.returncode == 0, result.stderr
    got, _ = logits_of(output, names[:3])
    np.testing.assert_allclose(got, xsub_dygraph_logits[:3], atol=1e-4, rtol=0)
    if runtime == 'onnx':
        benchmark = infer(model_file, '--benchmark', '--batch-size', 2)
        assert benchmark.returncode == 0, benchmark.stderr
        assert 'ONNX Runtime, CPUExecutionProvider' in benchmark.stdout


def test_xview_on_real_skeletons_is_12_of_12(exported_xview, real_skeleton_dir, tmp_path):
    model_file = exported_xview
    output = tmp_path / 'xview.json'
    result = infer(model_file, '--skeleton', real_skeleton_dir, '--output', output)
    assert result.returncode == 0, result.stderr
    files = sorted(real_skeleton_dir.glob('*.skeleton'))
    results = json.loads(output.read_text())
    assert [results[f.name.split('.')[0]]['pred'] for f in files] == true_labels(files)
    assert 'Top-1 accuracy: 12/12' in result.stdout


# ---------------------------------------------------------------- export round trip
@pytest.mark.slow
@pytest.mark.parametrize('layer_type', ['Basic', 'Bottleneck', 'Sep', 'SG'])
def test_export_round_trip_of_a_random_small_model(layer_type, tmp_path, request):
    """The Paddle Inference and the ONNX Runtime files, through infer.py."""
    overrides = [f'model_args.layer_type={layer_type}'] + SMALL
    cfg = apply_overrides(load_config('2001'), overrides)
    net, graph = random_checkpoint(cfg, tmp_path / 'random.pdparams')
    if layer_type == 'SG':   # 2001's own layers: small_model's config and seed, exported
        model_file = request.getfixturevalue('small_model')
    else:
        model_file = export(tmp_path / 'random.pdparams', '2001', overrides)
    data = np.random.RandomState(1).normal(0, 0.5, (3, 3, 300, 25, 2)).astype(np.float32)
    data_file, label_file, names = write_data_file(tmp_path, data, [0, 7, 59])
    expected = dygraph_logits(net, np.stack([build_inputs(x[:, :32], 'JVB', graph.connect_joint)
                                             for x in data]))
    for runtime in RUNTIMES:
        output = tmp_path / f'out_{runtime}.json'
        # batch 2 over 3 samples: a full batch and a short one through the free batch dimension
        result = infer(model_file_for(runtime, model_file), '--data_file', data_file,
                       '--label_file', label_file, '--batch-size', 2, '--output', output)
        assert result.returncode == 0, result.stderr
        got, results = logits_of(output, names)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4, err_msg=runtime)
        assert 'Top-1 accuracy:' in result.stdout and '/3 (' in result.stdout
        check_output_entry(results[names[0]], expected[0])


def test_the_onnx_conversion_leaves_pytorch_unimported():
    """paddle2onnx's constant folding reaches onnxruntime.tools, which imports torch whenever it
    is installed (seconds an export); -ex imports those tools without it."""
    import importlib.util
    if importlib.util.find_spec('torch') is None:
        pytest.skip('PyTorch is not installed: nothing would import it')
    code = ('import sys; from exporter import onnx_file; '
            'onnx_file.import_runtime_tools_without_torch(); '
            'from onnxruntime.tools import symbolic_shape_infer; '
            'from polygraphy.backend.onnx import fold_constants; '
            'print("torch" in sys.modules)')
    result = run_python('-c', code, check=True)
    assert result.stdout.split()[-1] == 'False', result.stdout


@pytest.mark.parametrize('att_type', ['stja', 'pa', 'ca', 'fa', 'ja'])
def test_onnx_round_trip_of_every_attention_type(att_type, tmp_path):
    """The plain forms of the folded model through paddle2onnx, in ONNX Runtime, as -ex writes
    them (in this process: the converter and runtime are the same)."""
    pytest.importorskip('paddle2onnx', reason='pip install paddle2onnx onnxruntime')
    pytest.importorskip('onnxruntime', reason='pip install paddle2onnx onnxruntime')
    import model
    from exporter import LogitsOnly, onnx_file
    cfg = apply_overrides(load_config('2001'), [f'model_args.att_type={att_type}'] + SMALL)
    paddle.seed(0)
    net, _ = dygraph_model(cfg)
    deploy = LogitsOnly(model.reparameterize(net))
    path = onnx_file.write_onnx(deploy, tmp_path / 'small.onnx', [3, 6, 32, 25, 2])
    x = np.random.RandomState(0).standard_normal((3, 3, 6, 32, 25, 2)).astype(np.float32)
    expected = dygraph_logits(net, x)
    # 1e-4 of the logits' scale: frame attention (no sigmoid, as the official) on random weights
    # makes logits of 1e7, where float32 alone differs by more than 1e-4 of an entry
    np.testing.assert_allclose(onnx_file.onnx_logits(path, x), expected, rtol=0,
                               atol=1e-4 * max(1.0, float(np.abs(expected).max())))


def test_a_batch_norm_left_out_of_the_fold_fails_the_round_trip(monkeypatch):
    """The round trips can fail: on a randomised model, the fold with one batch norm deleted
    (its scale 1, shift 0) differs from the dygraph model far beyond the export tolerance,
    while the true fold is within it."""
    import model
    from utils.errors import UserError
    from exporter import check_round_trip
    cfg = apply_overrides(load_config('2001'), SMALL)
    net, _ = dygraph_model(cfg)
    data_shape = initializer.build_model(cfg)[2]

    def logits_of_model(folded):
        return lambda x: dygraph_logits(folded, x)

    assert check_round_trip(net, logits_of_model(model.reparameterize(net)), 'fold',
                            data_shape) <= 1e-4
    calls = delete_first_batch_norm(monkeypatch)
    with pytest.raises(UserError, match='differs from the dygraph model by'):
        check_round_trip(net, logits_of_model(model.reparameterize(net)), 'broken fold',
                         data_shape)
    assert len(calls) > 1


def check_output_entry(entry, logits):
    """pred is the arg-max; top5 holds [id, NTU name, softmax prob] best first."""
    assert entry['pred'] == int(np.argmax(logits))
    assert len(entry['top5']) == 5
    ids, labels, probs = zip(*entry['top5'])
    assert ids[0] == entry['pred'] and list(probs) == sorted(probs, reverse=True)
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs, softmax[list(ids)], rtol=1e-4, atol=1e-6)
    if ids[0] == 0:
        assert labels[0] == 'drink water'
    assert all(isinstance(label, str) and label for label in labels)


# ---------------------------------------------------------------- errors and flags
@pytest.fixture(scope='session')
def small_model(tmp_path_factory):
    """A random 32-frame B0 (random_checkpoint's seed 0), exported once for the run."""
    from exporter.program import saved_model_file

    def exported(folder):
        random_checkpoint(apply_overrides(load_config('2001'), SMALL), folder / 'small.pdparams')
        export(folder / 'small.pdparams', '2001', SMALL)
    return saved_model_file(made_once(tmp_path_factory, 'small_model', exported) / 'small')


def test_missing_model_yml_or_params_is_a_one_line_error(small_model, tmp_path):
    skeletons = write_synthetic_dataset(tmp_path / 'sk', actions=(1,), samples_per_action=1)
    absent = tmp_path / 'absent.json'
    assert_one_line_error(infer(absent, '--skeleton', *skeletons), 'absent.json', 'does not exist')
    alone = tmp_path / 'alone.json'   # a model without its .yml beside it
    alone.write_bytes(small_model.read_bytes())
    assert_one_line_error(infer(alone, '--skeleton', *skeletons), 'alone.yml')
    assert_one_line_error(infer(small_model, '--params_file', tmp_path / 'absent.pdiparams',
                                '--skeleton', *skeletons), 'absent.pdiparams')


def test_malformed_skeleton_is_reported_and_the_others_processed(small_model, tmp_path):
    good = write_synthetic_dataset(tmp_path, actions=(1, 2), samples_per_action=1, frames=40)
    bad = tmp_path / 'S001C001P001R001A003.skeleton'
    bad.write_text('40\n1\nnot a body line\n')
    result = infer(small_model, '--skeleton', tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'Traceback' not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and bad.name in errors[0], result.stderr
    printed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith('S0')]
    assert printed == [p.name.split('.')[0] for p in good]
    assert 'Top-1 accuracy:' in result.stdout and '/2 (' in result.stdout
    # nothing readable at all is a failure
    alone = infer(small_model, '--skeleton', bad)
    assert alone.returncode == 1 and 'no sample could be processed' in alone.stderr


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_data_file_that_does_not_fit_is_a_one_line_error(small_model, tmp_path, runtime):
    model_file = model_file_for(runtime, small_model)
    wrong_joints = tmp_path / 'joints_data.npy'
    np.save(wrong_joints, np.zeros((2, 3, 300, 24, 2), np.float32))
    assert_one_line_error(infer(model_file, '--data_file', wrong_joints),
                          'joints_data.npy', 'does not fit')
    flat = tmp_path / 'flat_data.npy'
    np.save(flat, np.zeros((3, 300, 50), np.float32))
    assert_one_line_error(infer(model_file, '--data_file', flat), 'flat_data.npy', 'one sample')


def test_data_file_of_short_clips_one_sample_nan_and_two_entry_labels(small_model, tmp_path):
    """Clips shorter than the model's 32 frames are zero-padded as -gd pads them (said once); a
    sample with a NaN is an error line of its own and the others are predicted; a label file of
    (names, labels) serves; one (C, T, V, M) sample is a batch of one (PaddleVideo's arrays)."""
    cfg = apply_overrides(load_config('2001'), SMALL)
    net, graph = dygraph_model(cfg, model_state_of(load_checkpoint(
        str(small_model.with_suffix('.pdparams')))))
    data = np.random.RandomState(2).normal(0, 0.5, (3, 3, 20, 25, 2)).astype(np.float32)
    data[1, 0, 5, 3, 0] = np.nan
    np.save(tmp_path / 'short_data.npy', data)
    with open(tmp_path / 'short_label.pkl', 'wb') as f:
        pickle.dump((['first', 'broken', 'third'], [0, 1, 2]), f)
    padded = np.zeros((3, 3, 32, 25, 2), np.float32)
    padded[:, :, :20] = data
    expected = dygraph_logits(net, np.stack([build_inputs(x, 'JVB', graph.connect_joint)
                                             for x in padded[[0, 2]]]))
    result = infer(small_model, '--data_file', tmp_path / 'short_data.npy', '--label_file',
                   tmp_path / 'short_label.pkl', '--output', tmp_path / 'out.json')
    assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and 'broken' in errors[0] and 'non-finite' in errors[0], errors
    assert sum('zero-padded' in line for line in result.stderr.splitlines()) == 1
    got, _ = logits_of(tmp_path / 'out.json', ['first', 'third'])
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert '/2 (' in result.stdout   # the accuracy counts the two predicted samples

    np.save(tmp_path / 'one_sample.npy', data[2])
    one = infer(small_model, '--data_file', tmp_path / 'one_sample.npy', '--output',
                tmp_path / 'one.json')
    assert one.returncode == 0, one.stderr
    got, _ = logits_of(tmp_path / 'one.json', ['sample_0'])
    np.testing.assert_allclose(got, expected[1:], atol=1e-4, rtol=1e-4)


def test_bad_onnx_files_are_one_line_errors(small_model, tmp_path):
    """A corrupt .onnx, one without its .yml, and one whose graph does not take the input the
    .yml promises."""
    onnx_model = onnx_file_of(small_model)
    skeletons = write_synthetic_dataset(tmp_path / 'sk', actions=(1,), samples_per_action=1)
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'not an onnx file')
    (tmp_path / 'corrupt.yml').write_text(small_model.with_suffix('.yml').read_text())
    assert_one_line_error(infer(corrupt, '--skeleton', *skeletons), 'cannot load model',
                          'corrupt.onnx')
    alone = tmp_path / 'alone.onnx'
    alone.write_bytes(onnx_model.read_bytes())
    assert_one_line_error(infer(alone, '--skeleton', *skeletons), 'alone.yml')
    misfit = tmp_path / 'misfit.onnx'   # the .yml of a model with other frames
    misfit.write_bytes(onnx_model.read_bytes())
    deploy = yaml.safe_load(small_model.with_suffix('.yml').read_text())
    deploy.update(num_frame=48, input_shape=[-1, 3, 6, 48, 25, 2])
    (tmp_path / 'misfit.yml').write_text(yaml.safe_dump(deploy))
    assert_one_line_error(infer(misfit, '--skeleton', *skeletons), 'inference failed',
                          'shape [1, 3, 6, 48, 25, 2]')


def test_benchmark_with_gpu_asked_on_a_cpu_build_and_onednn(small_model):
    result = infer(small_model, '--benchmark', '--batch-size', 2, '--use-gpu', '--enable_mkldnn')
    assert result.returncode == 0, result.stderr
    if not paddle.device.is_compiled_with_cuda():
        assert 'running on the CPU' in result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith('Benchmark'))
    assert 'sequences/s' in line and 'ms per batch' in line and 'batch 2' in line


def test_export_without_the_onnx_packages_writes_the_paddle_files_and_says_what_to_install(
        tmp_path):
    cfg = apply_overrides(load_config('2001'), SMALL)
    random_checkpoint(cfg, tmp_path / 'small.pdparams')
    sets = [arg for override in SMALL for arg in ('--set', override)]
    checkpoint = str(tmp_path / 'small.pdparams')
    code = ("import sys; sys.modules['paddle2onnx'] = None; import main; "
            f"sys.exit(main.main(['-c', '2001', '-ex', '-pp', {checkpoint!r}, '-g', *{sets!r}]))")
    result = run_python('-c', code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Not writing the .onnx model: paddle2onnx not installed (pip install paddle2onnx ' \
           'onnxruntime)' in result.stdout
    assert (tmp_path / 'small.pdiparams').is_file() and (tmp_path / 'small.yml').is_file()
    assert not (tmp_path / 'small.onnx').exists()
