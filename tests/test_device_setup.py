"""GPU set-up that can be checked without a GPU: --amp and amp_level, the loader's workers, the
CPU fallback's warning, the float32 eval copy of an O2 model, TensorRT's batch range, and
tools/check_gpu.py's one line where there is no GPU. (tools/check_gpu.py checks the rest on a
GPU.)"""
import argparse

import numpy as np
import paddle
import pytest

import initializer
import main
from helpers import run_python, tiny_config
from deploy.runtimes import batch_shape_range
from deploy.runtimes.onnx_runtime import OnnxRunner
from deploy.runtimes.paddle_inference import configure_gpu
from random_weights import randomise
from utils.config import load_config
from utils.errors import ConfigError

INPUT_SHAPE = [-1, 3, 6, 288, 25, 2]


def amp_level_of(*argv):
    return main.resolve_config(main.build_parser().parse_args(['-c', '1001', *argv]))['amp_level']


def test_amp_level_is_a_config_entry_that_amp_sets():
    assert amp_level_of() is None                                    # float32
    assert amp_level_of('--amp') == 'O1'
    assert amp_level_of('--amp', 'O2') == 'O2'
    assert amp_level_of('--set', 'amp_level=O2') == 'O2'
    assert amp_level_of('--set', 'amp_level=O2', '--amp') == 'O2'   # alone: the config's level
    assert amp_level_of('--set', 'amp_level=O2', '--amp', 'O1') == 'O1'
    with pytest.raises(SystemExit):
        amp_level_of('--amp', 'O3')


def test_loader_workers_default_to_4_per_gpu_and_1_on_the_cpu():
    cfg = load_config('2001')
    assert cfg['dataset_args']['ntu']['num_workers'] is None
    assert initializer.loader_workers(cfg, on_gpu=True) == 4
    assert initializer.loader_workers(cfg, on_gpu=False) == 1
    cfg['dataset_args']['ntu']['num_workers'] = 0
    assert initializer.loader_workers(cfg, on_gpu=True) == 0
    for bad in (-1, 'two', True):
        cfg['dataset_args']['ntu']['num_workers'] = bad
        with pytest.raises(ConfigError, match='num_workers'):
            initializer.loader_workers(cfg, on_gpu=False)


def tiny_processor(tmp_path):
    from processor import Processor
    cfg = tiny_config(load_config('2001'), tmp_path, tmp_path / 'work')
    return Processor(cfg, main.build_parser().parse_args(['-c', '2001']))


def test_an_unknown_amp_level_is_a_config_error(tmp_path):
    from utils import training
    processor = tiny_processor(tmp_path)
    processor.cfg['amp_level'] = 'O3'
    with pytest.raises(ConfigError, match="amp_level 'O3': give O1 or O2"):
        training.amp_level(processor.cfg, processor.device)


def test_an_o2_model_is_evaluated_as_a_float32_copy(tmp_path):
    """O2 keeps float16 weights; evaluation folds a float32 copy and leaves them as they are."""
    processor = tiny_processor(tmp_path)
    randomise(processor.net)
    x = paddle.to_tensor(np.random.RandomState(0).standard_normal([2, 3, 6, 16, 25, 2])
                         .astype(np.float32))
    with paddle.no_grad():
        expected = processor.eval_model()(x)[0].numpy()
        processor.net.to(dtype='float16')   # as paddle.amp.decorate(level='O2') leaves it
        processor.amp_level = 'O2'
        net = processor.eval_model()
        got = net(x)[0].numpy()
    assert {p.dtype for p in net.parameters()} == {paddle.float32}
    assert paddle.float16 in {p.dtype for p in processor.net.parameters()}
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-2 * np.abs(expected).max())


def test_tensorrt_gets_the_batch_axis_range():
    """Paddle Inference: set_trt_dynamic_shape_info; ONNX Runtime: the TensorRT provider's
    profile shapes; from 1 to --batch-size, tuned for full batches."""
    assert batch_shape_range(INPUT_SHAPE, 8) == ([1, 3, 6, 288, 25, 2], [8, 3, 6, 288, 25, 2],
                                                  [8, 3, 6, 288, 25, 2])
    args = argparse.Namespace(gpu_mem=1000, use_tensorrt=True, batch_size=8, precision='fp32',
                              use_gpu=True)

    class Recorder:
        def __init__(self):
            self.calls = {}

        def __getattr__(self, name):
            return lambda *a, **k: self.calls.setdefault(name, (a, k))
    config = Recorder()
    configure_gpu(config, args, INPUT_SHAPE)
    assert 'enable_tensorrt_engine' in config.calls
    low, high, best = config.calls['set_trt_dynamic_shape_info'][0]
    assert (low, high, best) == ({'data': [1, 3, 6, 288, 25, 2]}, {'data': [8, 3, 6, 288, 25, 2]},
                                 {'data': [8, 3, 6, 288, 25, 2]})
    every = ['TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
    providers = OnnxRunner.providers(args, every, INPUT_SHAPE)
    assert providers[1:] == every[1:]
    name, options = providers[0]
    assert name == 'TensorrtExecutionProvider' and options == {
        'trt_profile_min_shapes': 'data:1x3x6x288x25x2',
        'trt_profile_opt_shapes': 'data:8x3x6x288x25x2',
        'trt_profile_max_shapes': 'data:8x3x6x288x25x2'}


def test_check_gpu_says_there_is_no_gpu_in_one_line():
    if paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        pytest.skip('there is a GPU here: run python tools/check_gpu.py')
    result = run_python('tools/check_gpu.py')
    assert result.returncode == 1 and not result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith('check_gpu: no GPU here: this Paddle build') \
        and lines[0].endswith('; nothing checked'), result.stdout
