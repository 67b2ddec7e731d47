"""Paddle Inference: the exported program (`<stem>.json` / `.pdmodel` + `.pdiparams`) on the CPU
with oneDNN, or on GPU 0 (with TensorRT on request: tensorrt_pir.py says how)."""
import contextlib
import sys
from pathlib import Path

import numpy as np

from utils.native_output import descriptor_redirected
from utils.runtime import gpu_available, import_paddle
from ..messages import InferError, notice, one_line
from . import batch_shape_range, tensorrt_pir


def precision_type(name):
    from paddle.inference import PrecisionType
    return {'fp32': PrecisionType.Float32, 'fp16': PrecisionType.Half,
            'int8': PrecisionType.Int8}[name]


def configure_gpu(config, options, input_shape=None, tensorrt_route=tensorrt_pir.SUBGRAPH):
    config.enable_use_gpu(options.gpu_mem, 0)
    if options.use_tensorrt and tensorrt_route == tensorrt_pir.SUBGRAPH:
        config.enable_tensorrt_engine(
            workspace_size=1 << 30, max_batch_size=options.batch_size, min_subgraph_size=3,
            precision_mode=precision_type(options.precision), use_static=False,
            use_calib_mode=options.precision == 'int8')
        if input_shape is not None:   # the batch axis is free (-1): TensorRT needs its range
            low, best, high = batch_shape_range(input_shape, options.batch_size)
            config.set_trt_dynamic_shape_info({'data': low}, {'data': high}, {'data': best})
    elif options.precision != 'fp32' and not (options.use_tensorrt and tensorrt_route):
        notice(f'--precision {options.precision} needs TensorRT; running fp32')


def tensorrt_files(options, model_file, params_file, input_shape):
    """The program --use_tensorrt runs on the GPU, and how (tensorrt_pir.route): model_file
    itself (TensorRT subgraphs, or none with the one line why), or its conversion by
    paddle.tensorrt. Returns (model file, params file, route)."""
    is_json = Path(model_file).suffix == '.json'
    tensorrt = tensorrt_pir.tensorrt_module() if is_json else None
    route, why = tensorrt_pir.route(model_file, True, tensorrt)
    if why:
        notice(why)
    if route != tensorrt_pir.CONVERT:
        return model_file, params_file, route
    model_file, params_file = tensorrt_pir.convert(tensorrt, model_file, options.precision,
                                                   input_shape, options.batch_size)
    if not tensorrt_pir.engine_ops(model_file):
        notice('paddle.tensorrt put no part of the model into a TensorRT engine: running on the '
               'GPU without TensorRT')
    return model_file, params_file, route


def tensorrt_in_use(config, precision):
    """What of TensorRT the configured predictor runs, in words (for describe())."""
    if config.tensorrt_engine_enabled():
        return f'TensorRT {precision} subgraphs'
    engines = tensorrt_pir.engine_ops(config.prog_file())
    return f'TensorRT {precision}, {engines} engine ops (paddle.tensorrt)' if engines \
        else 'no TensorRT'


def configure_cpu(config, options, cpu_threads, model_precision='fp32'):
    config.disable_gpu()
    # Set it either way: what Paddle does when told nothing differs between versions.
    if options.enable_mkldnn:
        config.enable_mkldnn()
        if model_precision == 'bf16':   # Paddle keeps float32 where the CPU lacks AVX-512
            config.enable_mkldnn_bfloat16()
    else:
        config.disable_mkldnn()
    config.set_cpu_math_library_num_threads(cpu_threads)
    if options.use_tensorrt:
        notice('--use_tensorrt needs a GPU; running without TensorRT')
    if options.precision != 'fp32':
        notice(f'--precision {options.precision} needs TensorRT on a GPU; running fp32 on the CPU')


def inference_config(options, model_file, params_file, cpu_threads, input_shape=None,
                     model_precision='fp32'):
    import_paddle()
    from paddle.inference import Config
    use_gpu = options.use_gpu and gpu_available()
    if options.use_gpu and not use_gpu:
        notice('--use-gpu was given, but this Paddle build has no CUDA device: running on the CPU')
    route = None
    if use_gpu and options.use_tensorrt:
        model_file, params_file, route = tensorrt_files(options, model_file, params_file,
                                                        input_shape)
    config = Config(str(model_file), str(params_file))
    if use_gpu:
        configure_gpu(config, options, input_shape, route)
    else:
        configure_cpu(config, options, cpu_threads, model_precision)
    config.switch_ir_optim(options.ir_optim)
    config.disable_glog_info()
    return config


@contextlib.contextmanager
def native_stdout_to_stderr():
    """Send what Paddle's C++ prints on stdout (oneDNN kernel checks) to stderr, so that stdout
    holds only the results."""
    sys.stdout.flush()
    with descriptor_redirected(1, 2):
        yield


class Runner:
    """A predictor fed through the exported program's `data` input; returns the logits."""

    def __init__(self, config, model_file, description='Paddle Inference'):
        from paddle.inference import create_predictor
        try:
            with native_stdout_to_stderr():
                self.predictor = create_predictor(config)
        except Exception as e:   # paddle raises RuntimeError/ValueError/... on a bad model
            raise InferError(f'cannot load model {model_file}: {one_line(e)}') from None
        inputs = self.predictor.get_input_names()
        if inputs != ['data']:
            raise InferError(f'model {model_file} takes inputs {inputs}, not one named "data": '
                             'export it with `python main.py -c ID -ex -pp CKPT`')
        self.input = self.predictor.get_input_handle('data')
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])
        self.description = description

    def describe(self):
        return self.description

    def __call__(self, batch):
        self.input.reshape(list(batch.shape))
        self.input.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        try:
            with native_stdout_to_stderr():
                self.predictor.run()
        except Exception as e:   # e.g. a .yml that no longer matches the model
            raise InferError(f'inference failed on a batch of shape {list(batch.shape)}: '
                             f'{one_line(e)}') from None
        return self.output.copy_to_cpu()
