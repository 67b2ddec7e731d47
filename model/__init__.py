"""EfficientGCN model family: `create(model_type, act_type, block_args, scale_args, **kwargs)`.

The network as the paper defines it: layers.py (graph and temporal layers), attentions.py,
nets.py; reparameterize.py folds a trained model for evaluation and export. Faster forms for the
CPU live in cpu_backend/, those for Paddle Inference in exporter/: both are put on a built model,
so the forwards here stay the definitions.
"""
from .activations import get_activation
from .nets import EfficientGCN, init_param
from .reparameterize import reparameterize

__all__ = ['EfficientGCN', 'create', 'init_param', 'reparameterize', 'rescale_block',
           'scale_factor_of']


def rescale_block(block_args, scale_args, scale_factor):
    """Compound scaling: channels by scale_args[0]**x (multiples of 16), depth by scale_args[1]**x."""
    channel_scaler = scale_args[0] ** scale_factor
    depth_scaler = scale_args[1] ** scale_factor
    return [[max(int(round(channel * channel_scaler / 16)) * 16, 16), stride,
             int(round(depth * depth_scaler))]
            for channel, stride, depth in block_args]


def scale_factor_of(model_type):
    """`EfficientGCN-B4` -> 4."""
    if not model_type or not model_type[-1].isdigit():
        raise ValueError(f'model_type {model_type!r} must end with the scale factor, '
                         'e.g. EfficientGCN-B0')
    return int(model_type[-1])


def create(model_type, act_type, block_args, scale_args, **kwargs):
    """Build EfficientGCN-Bx; kwargs are the rest of `model_args` plus data_shape, num_class, A, parts."""
    kwargs.update({
        'act': get_activation(act_type),
        'block_args': rescale_block(block_args, scale_args, scale_factor_of(model_type)),
    })
    return EfficientGCN(**kwargs)

