"""The spatial graph layer and the four temporal layers of EfficientGCN, as the paper defines
them.

All layers work on (N, C, T, V) maps; temporal kernels are (k, 1), so padding and stride touch
the time axis only and V stays the number of joints. Each forward is the layer's definition;
faster forms for a device or a runtime are installed from outside (model/cpu_backend,
exporter/), never written here.
"""
import numpy as np
import paddle
import paddle.nn as nn


class ConvBN(nn.Sequential):
    """Conv2D then BatchNorm2D (sublayers 0 and 1, as the checkpoints name them)."""


def conv_bn(in_channel, out_channel, kernel_size=1, stride=1, groups=1, bias=True):
    """A (kernel_size, 1) temporal convolution with 'same' time padding, then BatchNorm."""
    padding = ((kernel_size - 1) // 2, 0)
    return ConvBN(
        nn.Conv2D(in_channel, out_channel, (kernel_size, 1), (stride, 1), padding,
                  groups=groups, bias_attr=None if bias else False),
        nn.BatchNorm2D(out_channel),
    )


class Zero(nn.Layer):
    """No residual connection: adds nothing."""

    def forward(self, x):
        return 0


def make_residual(in_channel, out_channel, stride, bias, residual=True):
    """Identity when shapes match, a strided 1x1 conv + BN when they do not, Zero when off."""
    if not residual:
        return Zero()
    if in_channel == out_channel and stride == 1:
        return nn.Identity()
    return conv_bn(in_channel, out_channel, 1, stride, bias=bias)


class SpatialGraphConv(nn.Layer):
    """The graph convolution: a 1x1 conv to K * C_out channels (one C_out group per hop k),
    then, per hop, aggregation over the joints with the adjacency A_k masked by the learnable
    edge importance, summed over the hops:

        y[n, c, t, w] = sum_k sum_v (W_k x + b_k)[n, c, t, v] * (A_k * edge_k)[v, w]

    It is one linear map of x, so it may be computed in any order (the CPU backend aggregates
    first); this is the official order.
    """

    def __init__(self, in_channel, out_channel, max_graph_distance, bias, edge, A, **kwargs):
        super().__init__()
        self.s_kernel_size = max_graph_distance + 1
        self.gcn = nn.Conv2D(in_channel, out_channel * self.s_kernel_size, 1,
                             bias_attr=None if bias else False)
        A = paddle.to_tensor(np.asarray(A[:self.s_kernel_size], dtype='float32'))
        self.register_buffer('A', A)
        if edge:
            self.edge = self.create_parameter(
                A.shape, default_initializer=nn.initializer.Constant(1.0))
        else:
            self.edge = 1

    def forward(self, x):
        n, _, t, v = x.shape
        y = self.gcn(x).reshape([n, self.s_kernel_size, -1, t, v])        # N, K, C, T, V
        return paddle.einsum('nkctv,kvw->nctw', y, self.A * self.edge)


class Spatial_Graph_Layer(nn.Layer):
    """act(BN(gcn(x)) + residual(x))."""

    def __init__(self, in_channel, out_channel, max_graph_distance, bias, act, residual=True,
                 **kwargs):
        super().__init__()
        self.conv = SpatialGraphConv(in_channel, out_channel, max_graph_distance, bias, **kwargs)
        self.bn = nn.BatchNorm2D(out_channel)
        self.residual = make_residual(in_channel, out_channel, 1, bias, residual)
        self.act = act

    def forward(self, x):
        return self.act(self.bn(self.conv(x)) + self.residual(x))


class Temporal_Basic_Layer(nn.Layer):
    """act(BN(conv_k(x)) + residual(x))."""

    def __init__(self, channel, temporal_window_size, bias, act, stride=1, residual=True,
                 **kwargs):
        super().__init__()
        padding = ((temporal_window_size - 1) // 2, 0)
        self.conv = nn.Conv2D(channel, channel, (temporal_window_size, 1), (stride, 1), padding,
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
    """Sandglass: depthwise (act), pointwise reduce (no act), pointwise expand (act),
    depthwise (strided), plus the residual; no act after the add."""

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
