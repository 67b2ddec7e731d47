"""tools/check_gpu.py's decisions, here without a GPU: the check list, its one-line format, what
is skipped and why, a check that breaks, and how its checks read the engine's logs and
infer.py's lines. (The TF32 comparisons: test_tf32.py; the no-GPU line: test_device_setup.py.)"""
import io
import math

import pytest

from tools import check_gpu
from tools.gpu_checks import Report, Result, deployment, training


def context(**changes):
    return check_gpu.Context(**{'folder': None, 'checkpoint': None, 'skeletons': None,
                                'gpu_count': 1, **changes})


def test_each_check_is_one_line_and_failures_are_counted():
    out = io.StringIO()
    report = Report(out)
    report.ok('first')
    report.expect(False, 'second', 'why\nwith a second line')
    report.skip('third')
    assert out.getvalue().splitlines() == ['ok: first', 'FAILED: second: why with a second line',
                                           'skipped: third']
    assert report.failed == 1


def test_the_check_list_covers_what_a_gpu_user_needs():
    names = [step.name for step in check_gpu.STEPS]
    assert len(set(names)) == len(names)
    assert names[0] == 'the demo epochs'   # the float32 run later steps need is its
    for needed in ('AMP loss scaling', 'kill and -r', 'two processes', 'peak memory',
                   '-e and -v', 'export and inference', 'the published checkpoint'):
        assert needed in names
    by_name = {step.name: step for step in check_gpu.STEPS}
    assert by_name['two processes'].gpus == 2
    assert all(step.gpus == 1 for step in check_gpu.STEPS if step.name != 'two processes')
    assert by_name['-e and -v'].needs_demo_run and by_name['export and inference'].needs_demo_run


def test_what_is_skipped_and_why(tmp_path):
    two, after_demo = (next(s for s in check_gpu.STEPS if s.name == name)
                       for name in ('two processes', '-e and -v'))
    assert check_gpu.skip_reason(two, context()) == 'two processes: needs 2 GPUs, 1 visible'
    assert check_gpu.skip_reason(two, context(gpu_count=2)) is None
    assert check_gpu.skip_reason(after_demo, context()) == \
        '-e and -v: the float32 demo run failed'
    assert check_gpu.skip_reason(after_demo, context(float32_run=tmp_path)) is None


def test_a_check_that_breaks_is_one_failed_line_and_the_others_run():
    def broken(report, context):
        raise KeyError('best.pdparams')

    steps = [check_gpu.Step('broken', broken), check_gpu.Step('pair', lambda r, c: r.ok('ran'),
                                                              gpus=2),
             check_gpu.Step('next', lambda r, c: r.ok('ran'))]
    out = io.StringIO()
    report = Report(out)
    check_gpu.run_steps(report, context(), steps)
    assert out.getvalue().splitlines() == ["FAILED: broken: KeyError: 'best.pdparams'",
                                           'skipped: pair: needs 2 GPUs, 1 visible', 'ok: ran']


def test_main_on_a_gpu_prints_only_check_lines_and_fails_with_a_failed_check(monkeypatch,
                                                                            capsys):
    monkeypatch.setattr('utils.runtime.gpu_missing_reason', lambda: None)
    monkeypatch.setattr('paddle.device.cuda.device_count', lambda: 1)
    monkeypatch.setattr(check_gpu, 'STEPS', [
        check_gpu.Step('good', lambda r, c: r.ok('good')),
        check_gpu.Step('bad', lambda r, c: r.expect(False, 'bad', 'because'))])
    assert check_gpu.main([]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ['ok: good', 'FAILED: bad: because']
    assert lines[2].startswith('1 check(s) failed; the runs are in ')


def engine_log(devices, amp, losses):
    """A run's stdout as the engine writes it with -np: the record lines, then a loss line a
    step."""
    from utils import runs
    record = runs.run_record('python main.py -c 1001', devices, 1, amp, 1)
    steps = [f'Epoch: 1/1, Batch: {i}/{len(losses)}, Loss: {loss:.4f}, LR: 0.100000'
             for i, loss in enumerate(losses, 1)]
    return '\n'.join(runs.record_lines(record) + [f'Training ... {amp}'] + steps)


@pytest.mark.parametrize('devices, losses, passed', [
    (['gpu:0'], [2.3, 2.1], True),
    (['cpu'], [2.3, 2.1], False),            # the CPU fallback
    (['gpu:0'], [2.3, math.nan], False),     # a loss that overflowed
])
def test_the_demo_check_reads_device_precision_and_losses_from_the_log(monkeypatch, tmp_path,
                                                                      devices, losses, passed):
    logs = {p: engine_log(devices, p, losses) for p, _ in training.PRECISIONS}

    def fake_run(*args, env=None):
        precision = {(): 'float32', ('--amp',): 'mixed precision O1',
                     ('--amp', 'O2'): 'mixed precision O2'}[amp_of(args)]
        completed = type('Completed', (), {'returncode': 0, 'stdout': logs[precision],
                                           'stderr': ''})
        return Result(completed)
    monkeypatch.setattr(training, 'run', fake_run)
    out = io.StringIO()
    report = Report(out)
    training.demo_epochs(report, context(folder=tmp_path))
    lines = out.getvalue().splitlines()
    assert len(lines) == 6 and (report.failed == 0) == passed, lines


def amp_of(args):
    args = [str(a) for a in args]
    if '--amp' not in args:
        return ()
    at = args.index('--amp')
    return ('--amp', 'O2') if args[at + 1] == 'O2' else ('--amp',)


def test_ort_and_tensorrt_count_only_where_they_really_ran():
    assert deployment.used_tensorrt(
        'Benchmark (GPU, TensorRT fp32, 3 engine ops (paddle.tensorrt), batch 16): ...')
    assert not deployment.used_tensorrt('Benchmark (GPU, no TensorRT, batch 16): ...')
    assert not deployment.used_tensorrt('')
    assert deployment.used_cuda('Benchmark (ONNX Runtime, CUDAExecutionProvider, 2 CPU threads')
    assert not deployment.used_cuda('Benchmark (ONNX Runtime, CPUExecutionProvider, 2 CPU ...')


@pytest.mark.parametrize('scales, losses, passed', [
    ([32768.0, 65536.0, 65536.0], [2.3, 2.2, 2.1], True),
    ([32768.0, 32768.0, 32768.0], [2.3, 2.2, 2.1], False),   # a scale that never moves
    ([32768.0, 16384.0, 16384.0], [2.3, math.inf, 2.1], False),
])
def test_the_loss_scaling_check_needs_finite_losses_and_a_moving_scale(monkeypatch, scales,
                                                                       losses, passed):
    import json
    trace = json.dumps({'losses': losses, 'scales': scales})
    completed = type('Completed', (), {'returncode': 0, 'stdout': trace + '\n', 'stderr': ''})
    monkeypatch.setattr(training, 'run', lambda *args, env=None: Result(completed))
    out = io.StringIO()
    report = Report(out)
    training.loss_scaling(report, context())
    assert len(out.getvalue().splitlines()) == 4 and (report.failed == 0) == passed   # O1, O2


def test_an_optional_runtime_lacking_is_skipped_and_a_broken_one_fails(monkeypatch, tmp_path):
    """infer.py's notice (the packages lack ONNX Runtime's CUDA provider or paddle.tensorrt)
    skips the check; its error (a conversion that broke) fails it."""
    model = tmp_path / 'best.json'
    model.touch()
    model.with_suffix('.onnx').touch()
    monkeypatch.setattr(deployment, 'export', lambda report, context: model)
    answers = iter([({'a': [1.0, 0.0]}, ''), ({'a': [1.0, 0.0]}, ''), ({'a': [1.0, 0.0]}, ''),
                    (None, 'error: paddle.tensorrt could not convert best.json: no libnvinfer'),
                    (None, 'notice: this ONNX Runtime has no CUDAExecutionProvider: running '
                           'on CPUExecutionProvider')])
    monkeypatch.setattr(deployment, 'infer', lambda *a, **k: next(answers))
    out = io.StringIO()
    deployment.export_and_infer(Report(out), context(folder=tmp_path))
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith('FAILED: infer.py --use_tensorrt: error: paddle.tensorrt')
    assert lines[-1].startswith('skipped: infer.py --use-gpu on the .onnx (ONNX Runtime): notice')


def first_notice(capsys):
    return next(line for line in capsys.readouterr().err.splitlines()
                if line.startswith('notice:'))


def onnx_notice(monkeypatch, capsys, compiled_in, started):
    """The notice OnnxRunner prints with --use-gpu where onnxruntime has the providers
    `compiled_in` and its session starts `started`."""
    import argparse
    import sys
    from types import SimpleNamespace

    from deploy.runtimes.onnx_runtime import OnnxRunner

    class Session:
        def __init__(self, *args, **kwargs):
            pass

        def get_inputs(self):
            return [SimpleNamespace(name='data')]

        def get_providers(self):
            return [started]
    module = SimpleNamespace(set_default_logger_severity=lambda level: None,
                             SessionOptions=SimpleNamespace, InferenceSession=Session,
                             get_available_providers=lambda: compiled_in)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, 'onnxruntime', module)
        OnnxRunner(argparse.Namespace(use_gpu=True, use_tensorrt=False, batch_size=8),
                   'best.onnx', 2)
    return first_notice(capsys)


def tensorrt_notice(monkeypatch, capsys, tmp_path, importable):
    """The notice --use_tensorrt prints on a .json where paddle.tensorrt cannot be imported, or
    converts it into a program without TensorRT engine ops."""
    import argparse
    import types

    from deploy.runtimes import paddle_inference, tensorrt_pir
    converted = tmp_path / 'converted.json'
    converted.write_text('{"program": {"regions": []}}')
    module = types.ModuleType('paddle.tensorrt') if importable else \
        ImportError("No module named 'tensorrt'")
    with monkeypatch.context() as patch:
        patch.setattr(tensorrt_pir, 'tensorrt_module', lambda: module)
        patch.setattr(tensorrt_pir, 'convert', lambda *a: (converted, tmp_path / 'c.pdiparams'))
        paddle_inference.tensorrt_files(argparse.Namespace(precision='fp32', batch_size=8),
                                        tmp_path / 'best.json', tmp_path / 'best.pdiparams',
                                        [-1, 3, 6, 32, 25, 2])
    return first_notice(capsys)


def test_a_runtime_installed_but_not_running_fails_and_one_not_installed_is_skipped(
        monkeypatch, capsys, tmp_path):
    """The packages lack it (an onnxruntime without the CUDA provider, a Paddle without
    paddle.tensorrt): skipped. Installed but not running there (ONNX Runtime's CUDA provider
    compiled in but not starting, as beside CUDA libraries it does not fit; a TensorRT
    conversion that built no engine): FAILED. The notices are the runtimes' own."""
    cuda = ['CUDAExecutionProvider', 'CPUExecutionProvider']
    cases = {
        'not installed': (tensorrt_notice(monkeypatch, capsys, tmp_path, importable=False),
                          onnx_notice(monkeypatch, capsys, cuda[1:], cuda[1])),
        'not running': (tensorrt_notice(monkeypatch, capsys, tmp_path, importable=True),
                        onnx_notice(monkeypatch, capsys, cuda, cuda[1])),
    }
    model = tmp_path / 'best.json'
    model.touch()
    model.with_suffix('.onnx').touch()
    monkeypatch.setattr(deployment, 'export', lambda report, context: model)
    for case, (tensorrt, onnx) in cases.items():
        answers = iter([({'a': [1.0, 0.0]}, '')] * 3 + [(None, tensorrt), (None, onnx)])
        monkeypatch.setattr(deployment, 'infer', lambda *a, **k: next(answers))
        out = io.StringIO()
        deployment.export_and_infer(Report(out), context(folder=tmp_path))
        status = 'skipped' if case == 'not installed' else 'FAILED'
        assert [line.split(':')[0] for line in out.getvalue().splitlines()[-2:]] == \
            [status, status], (case, out.getvalue())
