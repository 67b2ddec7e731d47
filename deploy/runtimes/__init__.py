"""The runtimes an exported model runs in, behind one call: `runner(batch)` takes an
(N, I, 6, T, V, M) float32 batch and returns the (N, num_class) logits; `runner.describe()`
says where it runs (for the benchmark line).

ONNX Runtime runs a `.onnx` model file, Paddle Inference the others. A new runtime is a new
module here with such a runner, chosen in make_runner."""
import functools
import os

from utils.runtime import set_cpu_threads
from ..model_config import is_onnx


def configure_threads(cpu_threads):
    """OMP_NUM_THREADS must be set before paddle loads; --cpu_threads wins over the default."""
    if cpu_threads:
        os.environ['OMP_NUM_THREADS'] = str(cpu_threads)
    set_cpu_threads()
    if cpu_threads:
        return cpu_threads
    try:
        return max(1, int(os.environ['OMP_NUM_THREADS']))
    except ValueError:
        return os.cpu_count() or 1


def make_runner(model_file, params_file, options, cpu_threads, input_shape=None,
                model_precision='fp32'):
    """ONNX Runtime for a .onnx model file, Paddle Inference for the others, run as `options`
    (deploy.options.RuntimeOptions) say; input_shape (the .yml's, batch axis free) gives
    TensorRT its batch range; model_precision (the .yml's `precision`) is what the model was
    exported for: bf16 turns on oneDNN's bfloat16 passes."""
    if is_onnx(model_file):
        from .onnx_runtime import OnnxRunner
        runner = OnnxRunner(options, model_file, cpu_threads, input_shape)
    else:
        from .paddle_inference import Runner, inference_config
        config = inference_config(options, model_file, params_file, cpu_threads, input_shape,
                                  model_precision)
        runner = Runner(config, model_file, describe_paddle(options, cpu_threads, config))
        if not options.use_gpu:   # Paddle Inference holds the GIL while it runs on the CPU:
            # how to build the same runner in another process (deploy/video_live.py)
            runner.recipe = functools.partial(make_runner, model_file, params_file, options,
                                              cpu_threads, input_shape, model_precision)
    runner.precision = model_precision
    return runner


def batch_shape_range(input_shape, batch_size):
    """TensorRT's (min, opt, max) input shapes: the free batch axis of the exported input_shape
    from 1 to the batch size, tuned for full batches; the other axes as exported."""
    sample = [int(size) for size in input_shape[1:]]
    return [1] + sample, [batch_size] + sample, [batch_size] + sample


def describe_paddle(options, cpu_threads, config=None):
    from utils.runtime import gpu_available
    if options.use_gpu and gpu_available():
        if not (options.use_tensorrt and config is not None):
            return 'GPU'
        from .paddle_inference import tensorrt_in_use
        return f'GPU, {tensorrt_in_use(config, options.precision)}'
    return (f'CPU, {cpu_threads} threads, oneDNN {"on" if options.enable_mkldnn else "off"}, '
            f'ir_optim {"on" if options.ir_optim else "off"}')
