"""<stem>.onnx beside the Paddle Inference files: the folded model in its own (plain) forms,
saved as a static graph, converted by paddle2onnx, and checked in ONNX Runtime.

The plain forms, not paddle_forms: those are shaped for oneDNN's fusions, while the plain graph
is what ONNX Runtime and TensorRT optimise themselves; with the residual 1x1 convs merged into
the graph convs as identity hops, ONNX Runtime runs B0 1.3x faster than without. Both packages
are optional: without them -ex logs what to install and writes the Paddle files only.
"""
import contextlib
import importlib.util
import io
import logging
import tempfile
from pathlib import Path

import numpy as np

from utils.errors import UserError

from .program import save_program

logger = logging.getLogger(__name__)
OPSET = 13
INSTALL = 'pip install paddle2onnx onnxruntime'


def converter_and_runtime():
    """(paddle2onnx, onnxruntime), or None with a log line naming what is missing."""
    missing = []
    modules = []
    for name in ('paddle2onnx', 'onnxruntime'):
        try:
            modules.append(__import__(name))
        except ImportError:
            missing.append(name)
    if missing:
        logger.info('Not writing the .onnx model: %s not installed (%s)', ' and '.join(missing),
                    INSTALL)
        return None
    return modules


def write_onnx(deploy, path, data_shape, opset=OPSET):
    """Convert `deploy` (a Layer returning the logits) into the ONNX file `path`, free batch."""
    converter_runtime = converter_and_runtime()
    if converter_runtime is None:
        return None
    paddle2onnx, onnxruntime = converter_runtime
    onnxruntime.set_default_logger_severity(3)   # the optimiser's notes on unfused nodes
    import_runtime_tools_without_torch()
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / 'plain'
        model_file = save_program(deploy, stem, data_shape)
        try:
            with contextlib.redirect_stdout(io.StringIO()):   # its progress notes
                paddle2onnx.export(str(model_file), str(stem.with_suffix('.pdiparams')),
                                   save_file=str(path), opset_version=opset,
                                   enable_onnx_checker=True, verbose=False)
        except Exception as e:   # the converter raises many kinds on an op it lacks
            raise UserError(f'paddle2onnx could not convert the model to {path}: '
                            f'{str(e).splitlines()[0] if str(e) else type(e).__name__}') from None
    return path


def import_runtime_tools_without_torch():
    """Import onnxruntime.tools (paddle2onnx's constant folding reaches its shape inference
    through polygraphy) without the PyTorch helpers it imports whenever torch is installed:
    neither uses them, and importing torch took 3-13 s of an export here."""
    import sys
    if 'onnxruntime.tools' in sys.modules:
        return
    find_spec = importlib.util.find_spec

    def torch_unseen(name, *args, **kwargs):
        return None if name == 'torch' else find_spec(name, *args, **kwargs)
    importlib.util.find_spec = torch_unseen
    try:
        import onnxruntime.tools  # noqa: F401
    finally:
        importlib.util.find_spec = find_spec


def onnx_logits(path, x, threads=None):
    """Logits of the ONNX file on batch x, in ONNX Runtime on the CPU."""
    return onnx_session(path, threads)(x)


def onnx_session(path, threads=None):
    """The ONNX file loaded in ONNX Runtime on the CPU, as a function of a batch."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3   # errors only: its notes on unfused nodes
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=['CPUExecutionProvider'])
    return lambda x: session.run(None, {'data': np.ascontiguousarray(x, np.float32)})[0]
