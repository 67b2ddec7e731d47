"""Saving a Layer as a static program with a free batch size: what every exported form starts
from (the Paddle Inference files, and the program paddle2onnx converts)."""
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
        if stem.with_suffix(suffix).is_file():
            return stem.with_suffix(suffix)
    raise UserError(f'paddle.jit.save wrote no model file next to {stem}')
