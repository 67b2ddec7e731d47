"""Activation layers selectable by name in the config (`act_type`)."""
import paddle.nn as nn

ACTIVATIONS = {
    'relu': nn.ReLU,
    'relu6': nn.ReLU6,
    'hswish': nn.Hardswish,
    'swish': nn.Swish,
}


def get_activation(act_type):
    if act_type not in ACTIVATIONS:
        raise ValueError(f'unknown act_type {act_type!r}; choose one of {", ".join(ACTIVATIONS)}')
    return ACTIVATIONS[act_type]()
