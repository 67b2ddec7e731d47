"""The model's profile, as the official run logs it (thop): parameters, and multiply-adds per
sample at the config's frames.

Counted as thop counts the official model, on one forward pass of the plain model in eval mode
on a zero sample (both bodies): every convolution's multiply-adds (kernel size x input channels
per group, per output element), and 2 per batch-norm output. thop does not count the graph
aggregation (an einsum), the activations or the attention's element-wise products, and neither
does this figure; the aggregation's multiply-adds (K hops x C x T x V x V per graph conv) are
given beside it. For B0 / B2 / B4 at 288 frames this gives 2.69 / 3.98 / 8.24 G, against the
paper's 2.73 / 4.05 / 8.36 G (convolutions alone: 2.63 / 3.88 / 8.02 G).
"""
import copy
import math

import paddle
import paddle.nn as nn

from model.backend import remove_forms
from model.layers import SpatialGraphConv


def profile(net, data_shape):
    """{'parameters', 'multiply_adds', 'aggregation'} of net for one sample of data_shape,
    counted on a copy in its class's own forwards: a backend's forms (the engine installs the
    CPU one) compute with the layers' weights directly, so the hooks below would miss them."""
    net = remove_forms(copy.deepcopy(net))
    counted, aggregation = [], []

    def conv(layer, inputs, output):
        counted.append(math.prod(layer.weight.shape[1:]) * math.prod(output.shape))

    def batch_norm(layer, inputs, output):
        counted.append(2 * math.prod(output.shape))

    def graph_conv(layer, inputs, output):
        aggregation.append(layer.s_kernel_size * math.prod(output.shape) * layer.A.shape[1])

    for layer in net.sublayers():
        for kind, hook in ((nn.Conv2D, conv), (nn.Conv3D, conv), (nn.BatchNorm2D, batch_norm),
                           (SpatialGraphConv, graph_conv)):
            if isinstance(layer, kind):
                layer.register_forward_post_hook(hook)
    net.eval()
    with paddle.no_grad():
        net(paddle.zeros([1] + list(data_shape)))
    parameters = sum(math.prod(p.shape) for name, p in net.named_parameters()
                     if not p.stop_gradient and not name.endswith('.edge'))
    return {'parameters': parameters, 'multiply_adds': sum(counted),
            'aggregation': sum(aggregation)}


def describe(net, data_shape):
    figures = profile(net, data_shape)
    return (f'{figures["parameters"] / 1e6:.3f} M trainable parameters (edge masks not counted); '
            f'{figures["multiply_adds"] / 1e9:.2f} G multiply-adds per sample at '
            f'{data_shape[2]} frames, counted as thop counts the official model (convolutions, '
            f'2 per batch-norm output), and {figures["aggregation"] / 1e9:.2f} G more in the '
            'graph aggregations, which thop does not count')
