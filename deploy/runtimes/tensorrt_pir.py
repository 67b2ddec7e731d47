"""--use_tensorrt for the programs -ex writes. Paddle 3's Paddle Inference applies
enable_tensorrt_engine to the old program format (.pdmodel) only: for a .json (PIR) program it
builds no engine and the model runs on the GPU without TensorRT. A PIR program runs in TensorRT
once paddle.tensorrt.convert has replaced the parts TensorRT can run with pd_op.tensorrt_engine
ops (Paddle's "PIR-TRT"; paddle.tensorrt comes with CUDA builds of Paddle and needs NVIDIA's
`tensorrt` package). The converted program is written to a temporary folder (removed when the
process ends) and run by Paddle Inference like any other; converting builds the engines, which
takes a while at every start."""
import atexit
import json
import shutil
import tempfile
from pathlib import Path

from ..messages import InferError, one_line
from . import batch_shape_range

SUBGRAPH, CONVERT = 'subgraph', 'convert'
ENGINE_OP = 'tensorrt_engine'   # pd_op.tensorrt_engine; a .json names its dialect by a number


def tensorrt_module():
    """paddle.tensorrt, or the ImportError that says why it cannot be had."""
    try:
        import paddle.tensorrt as tensorrt
    except ImportError as e:
        return e
    return tensorrt


def route(model_file, on_gpu, tensorrt):
    """How --use_tensorrt runs model_file: (SUBGRAPH, None) for an old-format program (Paddle
    Inference's TensorRT subgraphs), (CONVERT, None) for a .json program where paddle.tensorrt
    is importable (`tensorrt`: the module or its ImportError), else (None, the one line that
    says why TensorRT cannot run it)."""
    if not on_gpu:
        return None, '--use_tensorrt needs a GPU; running without TensorRT'
    if Path(model_file).suffix != '.json':
        return SUBGRAPH, None
    if isinstance(tensorrt, ImportError):
        return None, (f'--use_tensorrt: a .json (PIR) model needs paddle.tensorrt, which this '
                      f'Paddle cannot import ({one_line(tensorrt)}; a CUDA build of Paddle and '
                      f'`pip install tensorrt` for its CUDA give it): running on the GPU without '
                      f'TensorRT')
    return CONVERT, None


def engine_ops(model_file):
    """How many TensorRT engine ops the saved PIR program model_file holds (0 for any other
    file): what tells a program that runs in TensorRT from one that does not."""
    path = Path(model_file)
    if path.suffix != '.json' or not path.is_file():
        return 0

    def count(node):
        if isinstance(node, dict):
            name = node.get('#')
            own = isinstance(name, str) and name.rsplit('.', 1)[-1] == ENGINE_OP
            return own + sum(count(v) for v in node.values())
        if isinstance(node, list):
            return sum(count(v) for v in node)
        return 0
    with open(path) as f:
        return count(json.load(f))


def convert(tensorrt, model_file, precision, input_shape, batch_size):
    """model_file converted by paddle.tensorrt for batches of 1 to batch_size (precision fp32,
    fp16 or int8) into a temporary folder; returns its (model file, params file)."""
    low, best, high = batch_shape_range(input_shape, batch_size)
    inputs = [tensorrt.Input(min_input_shape=low, optim_input_shape=best, max_input_shape=high,
                             name='data')]
    folder = tempfile.mkdtemp(prefix='efficientgcn_tensorrt_')
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    prefix = Path(folder) / 'model'
    config = tensorrt.TensorRTConfig(inputs=inputs, save_model_dir=str(prefix),
                                     precision_mode=tensorrt.PrecisionMode[precision.upper()])
    try:
        tensorrt.convert(str(model_file), config)
    except Exception as e:   # the converter raises many kinds (an op it lacks, no libnvinfer)
        raise InferError(f'paddle.tensorrt could not convert {model_file}: {one_line(e)}') \
            from None
    return prefix.with_suffix('.json'), prefix.with_suffix('.pdiparams')
