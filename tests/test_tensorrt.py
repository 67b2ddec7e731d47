"""--use_tensorrt on the .json (PIR) programs -ex writes: Paddle 3 builds TensorRT engines for
them only through paddle.tensorrt (tensorrt_pir.py). Here, without a GPU: the decision in every
case, the one line where TensorRT cannot run, and, with a CUDA build and paddle.tensorrt
faked, the conversion that is chosen, what it is given and how its engines are counted."""
import argparse
import json
import sys
import types

import paddle
import pytest

from deploy.runtimes import describe_paddle, paddle_inference, tensorrt_pir
from tools.gpu_checks.deployment import used_tensorrt

INPUT_SHAPE = [-1, 3, 6, 32, 25, 2]


def options(**changes):
    return argparse.Namespace(**{'use_gpu': True, 'use_tensorrt': True, 'precision': 'fp32',
                                 'batch_size': 8, 'gpu_mem': 100, 'enable_mkldnn': True,
                                 'ir_optim': True, **changes})


@pytest.fixture(scope='module')
def program(tmp_path_factory):
    """A small saved PIR program taking `data`, as -ex saves one."""
    from exporter.program import save_program
    folder = tmp_path_factory.mktemp('program')
    model_file = save_program(paddle.nn.Sequential(paddle.nn.Flatten(), paddle.nn.Linear(
        3 * 6 * 32 * 25 * 2, 4)), folder / 'small', INPUT_SHAPE[1:])
    assert model_file.suffix == '.json'
    return model_file


def test_the_route_for_every_case():
    module = types.ModuleType('paddle.tensorrt')
    missing = ImportError("No module named 'tensorrt'")
    assert tensorrt_pir.route('m.json', False, module) == (
        None, '--use_tensorrt needs a GPU; running without TensorRT')
    assert tensorrt_pir.route('m.pdmodel', True, None) == (tensorrt_pir.SUBGRAPH, None)
    assert tensorrt_pir.route('m.json', True, module) == (tensorrt_pir.CONVERT, None)
    route, why = tensorrt_pir.route('m.json', True, missing)
    assert route is None and "No module named 'tensorrt'" in why and '\n' not in why
    assert why.endswith('running on the GPU without TensorRT')


def test_without_a_gpu_tensorrt_is_one_notice_and_the_cpu_runs(program, capsys):
    if paddle.device.is_compiled_with_cuda():
        pytest.skip('a CUDA build: the fake CUDA build below stands for it')
    config = paddle_inference.inference_config(options(), program,
                                               program.with_suffix('.pdiparams'), 1, INPUT_SHAPE)
    assert not config.use_gpu() and not config.tensorrt_engine_enabled()
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith('notice')]
    assert notices == ['notice: --use-gpu was given, but this Paddle build has no CUDA device: '
                       'running on the CPU',
                       'notice: --use_tensorrt needs a GPU; running without TensorRT'], notices


class Recorder:
    """paddle.inference.Config as a CUDA build would take it: every call recorded."""

    def __init__(self, model_file, params_file):
        self.files, self.calls = (model_file, params_file), {}

    def prog_file(self):
        return self.files[0]

    def tensorrt_engine_enabled(self):
        return 'enable_tensorrt_engine' in self.calls

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.setdefault(name, (a, k))


def fake_tensorrt(engines):
    """paddle.tensorrt whose convert writes a program with `engines` TensorRT engine ops."""
    module = types.ModuleType('paddle.tensorrt')
    module.calls = []
    module.PrecisionMode = {'FP32': 'FP32', 'FP16': 'FP16', 'INT8': 'INT8'}
    module.Input = lambda **k: k
    module.TensorRTConfig = lambda **k: types.SimpleNamespace(**k)

    def convert(model_file, config):
        module.calls.append((model_file, config))
        ops = [{'#': '1.tensorrt_engine'}] * engines + [{'#': '1.relu'}]
        with open(config.save_model_dir + '.json', 'w') as f:
            json.dump({'program': {'regions': [{'blocks': [{'ops': ops}]}]}}, f)
        open(config.save_model_dir + '.pdiparams', 'wb').close()
    module.convert = convert
    return module


def cuda_build_with(monkeypatch, module):
    monkeypatch.setattr(paddle_inference, 'gpu_available', lambda: True)
    monkeypatch.setattr('utils.runtime.gpu_available', lambda: True)
    monkeypatch.setattr(paddle.inference, 'Config', Recorder)
    monkeypatch.setitem(sys.modules, 'paddle.tensorrt', module)
    monkeypatch.setattr(paddle, 'tensorrt', module, raising=False)


def test_on_a_cuda_build_a_json_program_is_converted_by_paddle_tensorrt(monkeypatch, program,
                                                                         capsys):
    module = fake_tensorrt(engines=2)
    cuda_build_with(monkeypatch, module)
    args = options(precision='fp16')
    config = paddle_inference.inference_config(args, program, program.with_suffix('.pdiparams'),
                                               1, INPUT_SHAPE)
    (model_file, trt_config), = module.calls
    assert model_file == str(program)
    assert trt_config.precision_mode == 'FP16'
    assert trt_config.inputs == [{'min_input_shape': [1, 3, 6, 32, 25, 2],
                                  'optim_input_shape': [8, 3, 6, 32, 25, 2],
                                  'max_input_shape': [8, 3, 6, 32, 25, 2], 'name': 'data'}]
    assert config.files[0] == trt_config.save_model_dir + '.json'   # the converted program runs
    assert 'enable_use_gpu' in config.calls and 'enable_tensorrt_engine' not in config.calls
    described = describe_paddle(args, 1, config)
    assert described == 'GPU, TensorRT fp16, 2 engine ops (paddle.tensorrt)'
    assert used_tensorrt(f'Benchmark ({described}, batch 8): ...')   # what check_gpu reads
    assert 'notice' not in capsys.readouterr().err


def test_a_conversion_without_engines_says_so(monkeypatch, program, capsys):
    cuda_build_with(monkeypatch, fake_tensorrt(engines=0))
    args = options()
    config = paddle_inference.inference_config(args, program, program.with_suffix('.pdiparams'),
                                               1, INPUT_SHAPE)
    assert 'put no part of the model into a TensorRT engine' in capsys.readouterr().err
    assert describe_paddle(args, 1, config) == 'GPU, no TensorRT'
    assert not used_tensorrt('Benchmark (GPU, no TensorRT, batch 8): ...')


def test_on_a_cuda_build_without_paddle_tensorrt_the_gpu_runs_with_one_notice(monkeypatch,
                                                                              program, capsys):
    cuda_build_with(monkeypatch, fake_tensorrt(engines=2))
    monkeypatch.setattr(tensorrt_pir, 'tensorrt_module',
                        lambda: ImportError("No module named 'tensorrt'"))
    args = options(precision='fp16')
    config = paddle_inference.inference_config(args, program, program.with_suffix('.pdiparams'),
                                               1, INPUT_SHAPE)
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith('notice')]
    assert len(notices) == 2 and 'paddle.tensorrt' in notices[0]
    assert notices[1] == 'notice: --precision fp16 needs TensorRT; running fp32'
    assert config.files[0] == str(program) and 'enable_tensorrt_engine' not in config.calls
    assert describe_paddle(args, 1, config) == 'GPU, no TensorRT'
