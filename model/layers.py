"""Spatial graph layer and the four temporal layers of EfficientGCN.

All layers work on (N, C, T, V) maps; temporal kernels are (k, 1), so padding and
stride touch the time axis only and V stays the number of joints.
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .fast_ops import per_hop_matmul, reshaped_matmul_operand, shared_weight_matmul
from .fused_ops import (batch_norm_act, batch_norm_affine, depthwise_temporal_conv, epilogue,
                        temporal_conv)


class Conv2D(nn.Conv2D):
    """nn.Conv2D with the same parameters (names, shapes, init), computed faster in dygraph.

    Paddle's CPU broadcast of a [C] bias over an NCHW map is several times slower than the same
    add over an (N, C, H*W) view, and a 1x1 convolution is one batched matrix product (a strided
    one on the subsampled map). (k, 1) convolutions, full and depthwise, run in the C kernels
    (fused_ops). Static graphs (export) keep plain conv2d with its bias: Paddle Inference's
    oneDNN passes fuse it with the batch norm, add and activation around it, and GPUs run it
    best as it is.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pointwise = (list(self._kernel_size) == [1, 1] and self._groups == 1
                           and not np.any(self._padding))
        self._strided = list(self._stride) != [1, 1]
        padding = list(self._padding) if isinstance(self._padding, (list, tuple)) \
            else [self._padding] * 2
        temporal = (self._kernel_size[1] == 1 and self._stride[1] == 1 and len(padding) == 2
                    and padding[1] == 0 and isinstance(padding[0], int)
                    and list(self._dilation) == [1, 1])
        self._frame_padding = padding[0] if temporal else None
        self._depthwise_temporal = temporal and \
            self._groups == self._in_channels == self._out_channels
        self._temporal = temporal and self._groups == 1 and self._stride[0] == 1 \
            and self._kernel_size[0] > 1 and 2 * padding[0] == self._kernel_size[0] - 1

    def forward(self, x):
        return self.convolve(x, self.weight, self.bias)

    def convolve(self, x, weight, bias, residual=None, act=None):
        """act(conv(x; weight, bias) + residual), each of bias, residual, act optional."""
        if not paddle.in_dynamic_mode():
            y = F.conv2d(x, weight, bias, self._stride, self._padding, self._dilation,
                         self._groups)
            return activate(y if residual is None else y + residual, act)
        y = self._without_bias(x, weight)
        shift = None if bias is None else bias.reshape([self._out_channels, 1])
        return epilogue(flat(y), act, shift, flat(residual)).reshape(y.shape)

    def _without_bias(self, x, weight):
        """The convolution without its bias, in the fastest form for this layer's shape."""
        if self._pointwise and (not self._strided or self._frames_divide(x)):
            if self._strided:
                x = kept_frames(x, self._stride[0])
            h, w = x.shape[2], x.shape[3]
            weight = weight.reshape([self._out_channels, self._in_channels])
            y = shared_weight_matmul(weight, x.reshape([0, self._in_channels, -1]))
            return y.reshape([0, self._out_channels, h, w])
        if self._temporal:
            return temporal_conv(x, weight, self._frame_padding)
        if self._depthwise_temporal:
            return depthwise_temporal_conv(x, weight, self._stride[0], self._frame_padding)
        return F.conv2d(x, weight, None, self._stride, self._padding, self._dilation,
                        self._groups)

    def _frames_divide(self, x):
        return self._stride[1] == 1 and x.shape[2] % self._stride[0] == 0


def kept_frames(x, stride):
    """x[:, :, ::stride] for a frame count that stride divides, as a matrix product that picks
    the first V of every stride * V values. A strided 1x1 conv built on it trains 1.6x faster
    than conv2d (forward + backward); on the strided slice, 1.8x slower (Paddle's backward of
    that slice)."""
    _, c, t, v = x.shape
    pick_first_joints = paddle.eye(stride * v, v, dtype=x.dtype)
    return paddle.matmul(x.reshape([-1, c, t // stride, stride * v]), pick_first_joints)


def activate(x, act):
    return x if act is None else act(x)


def flat(x):
    """(N, C, H, W) -> (N, C, H * W), a view; None stays None."""
    return None if x is None else x.reshape([0, x.shape[1], -1])


class ConvBN(nn.Sequential):
    """Conv2D then BatchNorm2D (sublayers 0 and 1, as the checkpoints name them)."""

    def forward(self, x, residual=None, act=None):
        return conv_bn_act(self[0], self[1], x, residual, act, self.training)


def conv_bn_act(conv, bn, x, residual=None, act=None, training=True):
    """act(bn(conv(x)) + residual). In eval mode the BatchNorm is folded into the convolution's
    weight and bias; in training the batch norm, residual and act are one fused step."""
    if training:
        if not paddle.in_dynamic_mode():
            return activate(_add(bn(conv(x)), residual), act)
        y = conv.convolve(x, conv.weight, None)
        out = batch_norm_act(flat(y), bn, act, flat(residual), input_bias=conv.bias)
        return out.reshape(y.shape)
    weight, bias = folded_conv_bn(conv, bn)
    return conv.convolve(x, weight, bias, residual, act)


def folded_conv_bn(conv, bn):
    """The (weight, bias) of conv followed by bn in eval mode, as one convolution."""
    scale, shift = batch_norm_affine(bn)
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    return conv.weight * scale.reshape([-1, 1, 1, 1]), shift


def folded_pointwise(block):
    """A 1x1 ConvBN in eval mode as (matrix (O, C), bias (O,))."""
    weight, bias = folded_conv_bn(block[0], block[1])
    return weight.reshape(weight.shape[:2]), bias


def _add(x, residual):
    return x if residual is None else x + residual


def conv_bn(in_channel, out_channel, kernel_size=1, stride=1, groups=1, bias=True):
    """Conv2D (temporal kernel k x 1, 'same' time padding) followed by BatchNorm."""
    padding = ((kernel_size - 1) // 2, 0)
    return ConvBN(
        Conv2D(in_channel, out_channel, (kernel_size, 1), (stride, 1), padding,
               groups=groups, bias_attr=None if bias else False),
        nn.BatchNorm2D(out_channel),
    )


class Zero(nn.Layer):
    """No residual connection: the layers take None as 'nothing to add'."""

    def forward(self, x):
        return None


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

    def forward(self, x, scale=None, shift=None, residual=None, act=None, identity_hop=None):
        """act(gcn(x) * scale + shift + residual): scale and shift are a following
        BatchNorm's eval-mode affine (C,), folded in; each part optional. identity_hop, a 1x1
        conv's (weight (C, C_in), bias (C,)), adds that conv of x as one more hop, whose
        adjacency is the identity: its output is never written on its own."""
        _, in_channel, t, v = x.shape
        k = self.s_kernel_size
        out_channel = self.gcn._out_channels // k
        adjacency = self.A * self.edge                           # K, V, W
        weight = self.gcn.weight.reshape([k, out_channel, in_channel]).transpose([1, 2, 0])
        bias = self._joint_bias(adjacency, k, out_channel)       # C, W or None
        if scale is not None:
            weight = weight * scale.reshape([-1, 1, 1])
            bias = shift.unsqueeze(1) if bias is None else \
                bias * scale.unsqueeze(1) + shift.unsqueeze(1)
        if identity_hop is not None:
            hop_weight, hop_bias = identity_hop
            adjacency = paddle.concat([adjacency, paddle.eye(v, dtype=x.dtype).unsqueeze(0)])
            weight = paddle.concat([weight, hop_weight.unsqueeze(2)], axis=2)
            bias = hop_bias.unsqueeze(1) if bias is None else bias + hop_bias.unsqueeze(1)
            k += 1
        weight = weight.reshape([out_channel, in_channel * k])
        x = per_hop_matmul(x.reshape([-1, 1, t, v]), adjacency)  # N * C_in, K, T, W
        x = shared_weight_matmul(weight, reshaped_matmul_operand(x, [-1, in_channel * k, t * v]))
        if bias is not None and bias.shape[1] != 1:   # per channel and joint: over all frames
            bias = paddle.tile(bias, [1, t])
        x = epilogue(x, act, bias, flat(residual))
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
        if not self.training and paddle.in_dynamic_mode():
            return self._eval_forward(x)
        residual = self.residual(x)
        if not paddle.in_dynamic_mode():
            # export: the residual is added to the 4-D map, where oneDNN keeps its layout
            affine = () if self.training else batch_norm_affine(self.bn)
            y = self.conv(x, *affine)
            return activate(_add(self.bn(y) if self.training else y, residual), self.act)
        y = self.conv(x)
        return batch_norm_act(flat(y), self.bn, self.act, flat(residual)).reshape(y.shape)

    def _eval_forward(self, x):
        """Eval in dygraph: the BN folded into the gcn. A residual 1x1 conv (its BN folded
        too) joins the gcn's channel mixing as one more hop whose adjacency is the identity, so
        its output is never written on its own: a B0 eval pass 4-7% faster."""
        affine = batch_norm_affine(self.bn)
        if isinstance(self.residual, ConvBN):
            return self.conv(x, *affine, act=self.act,
                             identity_hop=folded_pointwise(self.residual))
        return self.conv(x, *affine, self.residual(x), self.act)


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
        return conv_bn_act(self.conv, self.bn, x, self.residual(x), self.act, self.training)


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
        x = self.reduct_conv(x, act=self.act)
        x = self.conv(x, act=self.act)
        return self.expand_conv(x, res, self.act)


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
            x = self.expand_conv(x, act=self.act)
        x = self.depth_conv(x, act=self.act)
        return self.point_conv(x, res)


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
        x = self.depth_conv1(x, act=self.act)
        if not self.training and paddle.in_dynamic_mode():
            x = self._folded_pointwise_pair(x)
        else:
            x = self.point_conv2(self.point_conv1(x), act=self.act)
        return self.depth_conv2(x, res)

    def _folded_pointwise_pair(self, x):
        """Eval in dygraph: point_conv1 has no activation, so with their BNs folded the two
        1x1 convs are one linear map, act(W2 (W1 x + b1) + b2) = act(W2 W1 x + W2 b1 + b2): the
        same FLOPs, and the reduced map between them is never written (a B0 eval pass 2%
        faster)."""
        (w1, b1), (w2, b2) = map(folded_pointwise, (self.point_conv1, self.point_conv2))
        n, c, t, v = x.shape
        y = shared_weight_matmul(paddle.matmul(w2, w1), x.reshape([n, c, t * v]))
        bias = paddle.matmul(w2, b1.unsqueeze(1)) + b2.unsqueeze(1)
        return epilogue(y, self.act, bias).reshape([n, -1, t, v])


TEMPORAL_LAYERS = {
    'Basic': Temporal_Basic_Layer,
    'Bottleneck': Temporal_Bottleneck_Layer,
    'Sep': Temporal_Sep_Layer,
    'SG': Temporal_SG_Layer,
}
