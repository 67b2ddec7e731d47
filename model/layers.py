"""Spatial graph layer and the four temporal layers of EfficientGCN.

All layers work on (N, C, T, V) maps; temporal kernels are (k, 1), so padding and
stride touch the time axis only and V stays the number of joints.
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .fast_ops import add_bias, per_hop_matmul, shared_weight_matmul


class Conv2D(nn.Conv2D):
    """nn.Conv2D with the same parameters (names, shapes, init), computed faster in dygraph.

    Paddle's CPU broadcast of a [C] bias over an NCHW map is several times slower than the same
    add over an (N, C, H*W) view, and a 1x1 convolution is one batched matrix product. Static
    graphs (export) keep plain conv2d with its bias: Paddle Inference's oneDNN passes fuse it
    with the batch norm, add and activation around it, and GPUs run it best as it is.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pointwise = (list(self._kernel_size) == [1, 1] and list(self._stride) == [1, 1]
                           and self._groups == 1 and not np.any(self._padding))

    def forward(self, x):
        return self.convolve(x, self.weight, self.bias)

    def convolve(self, x, weight, bias):
        """This layer's convolution with the given weight and bias (None: no bias)."""
        if not paddle.in_dynamic_mode():
            return F.conv2d(x, weight, bias, self._stride, self._padding, self._dilation,
                            self._groups)
        if self._pointwise:
            h, w = x.shape[2], x.shape[3]
            weight = weight.reshape([self._out_channels, self._in_channels])
            y = shared_weight_matmul(weight, x.reshape([0, self._in_channels, -1]))
        else:
            y = F.conv2d(x, weight, None, self._stride, self._padding, self._dilation,
                         self._groups)
            h, w = y.shape[2], y.shape[3]
            y = y.reshape([0, self._out_channels, -1])
        if bias is not None:
            y = add_bias(y, bias.reshape([self._out_channels, 1]))
        return y.reshape([0, self._out_channels, h, w])


class ConvBN(nn.Sequential):
    """Conv2D then BatchNorm2D (sublayers 0 and 1, as the checkpoints name them). In eval mode
    the BatchNorm is folded into the convolution's weight and bias: one pass less over the map."""

    def forward(self, x):
        conv, bn = self[0], self[1]
        if self.training:
            return bn(conv(x))
        scale, shift = batch_norm_affine(bn)
        if conv.bias is not None:
            shift = shift + conv.bias * scale
        return conv.convolve(x, conv.weight * scale.reshape([-1, 1, 1, 1]), shift)


def batch_norm_affine(bn):
    """An eval-mode BatchNorm as y = x * scale + shift, per channel."""
    scale = bn.weight * paddle.rsqrt(bn._variance + bn._epsilon)
    return scale, bn.bias - bn._mean * scale


def conv_bn(in_channel, out_channel, kernel_size=1, stride=1, groups=1, bias=True):
    """Conv2D (temporal kernel k x 1, 'same' time padding) followed by BatchNorm."""
    padding = ((kernel_size - 1) // 2, 0)
    return ConvBN(
        Conv2D(in_channel, out_channel, (kernel_size, 1), (stride, 1), padding,
               groups=groups, bias_attr=None if bias else False),
        nn.BatchNorm2D(out_channel),
    )


class Zero(nn.Layer):
    def forward(self, x):
        return 0


def make_residual(in_channel, out_channel, stride, bias, residual=True):
    """Identity when shapes match, a strided 1x1 conv + BN when they do not."""
    if not residual:
        return Zero()
    if in_channel == out_channel and stride == 1:
        return nn.Identity()
    return conv_bn(in_channel, out_channel, 1, stride, bias=bias)


class SpatialGraphConv(nn.Layer):
    """1x1 conv to K * out channels, then aggregation over joints with A * edge per hop k.

    Computed in the other order, which is the same linear map: aggregate the input channels
    over joints for each hop (fewer than K * out), then mix channels and hops in one matrix
    product. On the CPU this is 2.4x faster forward than the conv then einsum. The parameters
    keep the conv's names and shapes.
    """

    def __init__(self, in_channel, out_channel, max_graph_distance, bias, edge, A, **kwargs):
        super().__init__()
        self.s_kernel_size = max_graph_distance + 1
        self.gcn = Conv2D(in_channel, out_channel * self.s_kernel_size, 1,
                          bias_attr=None if bias else False)
        A = paddle.to_tensor(np.asarray(A[:self.s_kernel_size], dtype='float32'))
        self.register_buffer('A', A)
        if edge:
            self.edge = self.create_parameter(
                A.shape, default_initializer=nn.initializer.Constant(1.0))
        else:
            self.edge = 1

    def forward(self, x, scale=None, shift=None):
        """scale and shift: a following BatchNorm's eval-mode affine (C,), folded in."""
        _, in_channel, t, v = x.shape
        k = self.s_kernel_size
        out_channel = self.gcn._out_channels // k
        adjacency = self.A * self.edge                           # K, V, W
        x = per_hop_matmul(x.reshape([-1, 1, t, v]), adjacency)  # N * C_in, K, T, W
        weight = self.gcn.weight.reshape([k, out_channel, in_channel])
        weight = weight.transpose([1, 2, 0]).reshape([out_channel, in_channel * k])
        bias = self._joint_bias(adjacency, k, out_channel)       # C, W or None
        if scale is not None:
            weight = weight * scale.unsqueeze(1)
            bias = shift.unsqueeze(1) if bias is None else \
                bias * scale.unsqueeze(1) + shift.unsqueeze(1)
        x = shared_weight_matmul(weight, x.reshape([-1, in_channel * k, t * v]))
        if bias is not None:   # per channel and joint: repeat it over the frames
            x = add_bias(x, bias if bias.shape[1] == 1 else paddle.tile(bias, [1, t]))
        return x.reshape([-1, out_channel, t, v])

    def _joint_bias(self, adjacency, k, out_channel):
        """The conv's bias seen through the aggregation: sum_k b[k, c] * sum_v A_k[v, w]."""
        if self.gcn.bias is None:
            return None
        return paddle.matmul(self.gcn.bias.reshape([k, out_channel]), adjacency.sum(axis=1),
                             transpose_x=True)


class Spatial_Graph_Layer(nn.Layer):
    """act(BN(gcn(x)) + residual(x)); in eval mode the BN is folded into the gcn."""

    def __init__(self, in_channel, out_channel, max_graph_distance, bias, act, residual=True,
                 **kwargs):
        super().__init__()
        self.conv = SpatialGraphConv(in_channel, out_channel, max_graph_distance, bias, **kwargs)
        self.bn = nn.BatchNorm2D(out_channel)
        self.residual = make_residual(in_channel, out_channel, 1, bias, residual)
        self.act = act

    def forward(self, x):
        if self.training:
            y = self.bn(self.conv(x))
        else:
            y = self.conv(x, *batch_norm_affine(self.bn))
        return self.act(y + self.residual(x))


class Temporal_Basic_Layer(nn.Layer):
    """act(BN(conv_k(x)) + residual(x))."""

    def __init__(self, channel, temporal_window_size, bias, act, stride=1, residual=True,
                 **kwargs):
        super().__init__()
        padding = ((temporal_window_size - 1) // 2, 0)
        self.conv = Conv2D(channel, channel, (temporal_window_size, 1), (stride, 1), padding,
                              bias_attr=None if bias else False)
        self.bn = nn.BatchNorm2D(channel)
        self.residual = make_residual(channel, channel, stride, bias, residual)
        self.act = act

    def forward(self, x):
        return self.act(self.bn(self.conv(x)) + self.residual(x))


class Temporal_Bottleneck_Layer(nn.Layer):
    """1x1 reduce, k x 1 conv, 1x1 expand, each with BN and act (the last after the add)."""

    def __init__(self, channel, temporal_window_size, bias, act, reduct_ratio, stride=1,
                 residual=True, **kwargs):
        super().__init__()
        inner_channel = channel // reduct_ratio
        self.reduct_conv = conv_bn(channel, inner_channel, bias=bias)
        self.conv = conv_bn(inner_channel, inner_channel, temporal_window_size, stride, bias=bias)
        self.expand_conv = conv_bn(inner_channel, channel, bias=bias)
        self.residual = make_residual(channel, channel, stride, bias, residual)
        self.act = act

    def forward(self, x):
        res = self.residual(x)
        x = self.act(self.reduct_conv(x))
        x = self.act(self.conv(x))
        return self.act(self.expand_conv(x) + res)


class Temporal_Sep_Layer(nn.Layer):
    """EpSep: optional 1x1 expand, depthwise k x 1 (strided), pointwise back; no act after add."""

    def __init__(self, channel, temporal_window_size, bias, act, expand_ratio, stride=1,
                 residual=True, **kwargs):
        super().__init__()
        if expand_ratio > 0:
            inner_channel = channel * expand_ratio
            self.expand_conv = conv_bn(channel, inner_channel, bias=bias)
        else:
            inner_channel = channel
            self.expand_conv = None
        self.depth_conv = conv_bn(inner_channel, inner_channel, temporal_window_size, stride,
                                  groups=inner_channel, bias=bias)
        self.point_conv = conv_bn(inner_channel, channel, bias=bias)
        self.residual = make_residual(channel, channel, stride, bias, residual)
        self.act = act

    def forward(self, x):
        res = self.residual(x)
        if self.expand_conv is not None:
            x = self.act(self.expand_conv(x))
        x = self.act(self.depth_conv(x))
        return self.point_conv(x) + res


class Temporal_SG_Layer(nn.Layer):
    """Sandglass: depthwise, pointwise reduce, pointwise expand, depthwise (strided)."""

    def __init__(self, channel, temporal_window_size, bias, act, reduct_ratio, stride=1,
                 residual=True, **kwargs):
        super().__init__()
        inner_channel = channel // reduct_ratio
        self.depth_conv1 = conv_bn(channel, channel, temporal_window_size, groups=channel,
                                   bias=bias)
        self.point_conv1 = conv_bn(channel, inner_channel, bias=bias)
        self.point_conv2 = conv_bn(inner_channel, channel, bias=bias)
        self.depth_conv2 = conv_bn(channel, channel, temporal_window_size, stride,
                                   groups=channel, bias=bias)
        self.residual = make_residual(channel, channel, stride, bias, residual)
        self.act = act

    def forward(self, x):
        res = self.residual(x)
        x = self.act(self.depth_conv1(x))
        x = self.point_conv1(x)
        x = self.act(self.point_conv2(x))
        return self.depth_conv2(x) + res


TEMPORAL_LAYERS = {
    'Basic': Temporal_Basic_Layer,
    'Bottleneck': Temporal_Bottleneck_Layer,
    'Sep': Temporal_Sep_Layer,
    'SG': Temporal_SG_Layer,
}
