"""Saving a Layer as a static program with a free batch size: what every exported form starts
from (the Paddle Inference files, and the program paddle2onnx converts); and where the exported
files of a checkpoint go."""
from pathlib import Path

import paddle

from utils.errors import UserError


def save_program(layer, stem, data_shape):
    """paddle.jit.save of layer (eval mode) for inputs `data` of (any batch,) + data_shape;
    returns the model file it wrote."""
    layer.eval()
    spec = paddle.static.InputSpec([None] + list(data_shape), 'float32', 'data')
    paddle.jit.save(layer, str(stem), input_spec=[spec])
    return saved_model_file(stem)


def saved_model_file(stem):
    """Paddle 3 writes <stem>.json (PIR); older programs <stem>.pdmodel."""
    for suffix in ('.json', '.pdmodel'):
        if beside(stem, suffix).is_file():
            return beside(stem, suffix)
    raise UserError(f'paddle.jit.save wrote no model file next to {stem}')


# A checkpoint's name ends in one of these (the longest first): the authors' `.pth.tar`, other
# ports' `.pdparams.tar`, this repository's `.pdparams`.
CHECKPOINT_SUFFIXES = ('.pdparams.tar', '.pth.tar', '.pdparams', '.pth', '.tar', '.pt')


def export_stem(checkpoint_path):
    """The path the exported files of a checkpoint start with: the checkpoint's without its
    checkpoint suffix (xsub.pdparams -> xsub, off.pth.tar -> off), else without its last
    suffix."""
    path = Path(checkpoint_path)
    for suffix in CHECKPOINT_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.with_name(path.name[:-len(suffix)])
    return path.with_suffix('')


def beside(stem, suffix):
    """<stem><suffix>: paddle.jit.save's naming, which keeps the dots of the stem (a stem
    `b0.v2` gives `b0.v2.json`, where Path.with_suffix would give `b0.json`)."""
    stem = Path(stem)
    return stem.with_name(stem.name + suffix)
