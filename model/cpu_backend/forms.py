"""The CPU-dygraph forms of the model's layers: each computes what the layer's own forward
defines, with the operations of fast_ops and fused_ops.

A training-mode layer runs its batch norm, residual add and activation as one fused step; an
eval-mode layer folds its batch norm on the fly, and a reparameterised (folded) one runs its conv,
bias, residual and activation as one product and one pass. The graph convolution aggregates
the joints before it mixes channels (the same linear map, 2.4x faster forward here).
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from model.attentions import Attention_Layer, ST_Joint_Att
from model.layers import (ConvBN, Spatial_Graph_Layer, Temporal_Basic_Layer,
                          Temporal_Bottleneck_Layer, Temporal_Sep_Layer, Temporal_SG_Layer, Zero)
from model.nets import EfficientGCN, EfficientGCN_Classifier
from model.reparameterize import (FoldedGraphConv, batch_norm_affine, folded_conv_bn,
                                  graph_conv_weights)

from .fast_ops import mean_of_rows, per_hop_matmul, shared_weight_matmul
from .fused_ops import (apply_joint_attention, batch_norm_act, depthwise_temporal_conv,
                        epilogue, joint_attention_epilogue, joint_attention_fusable,
                        joint_attention_usable, split_bodies, temporal_conv)


def flat(x):
    """(N, C, H, W) -> (N, C, H * W), a view; None stays None."""
    return None if x is None else x.reshape([0, x.shape[1], -1])


# ---------------------------------------------------------------- convolutions
def conv_without_bias(conv, x, weight=None):
    """conv(x) without its bias (with `weight` in place of conv.weight if given), in the
    fastest form for its shape: a 1x1 conv as one matrix product, (k, 1) convs in the C
    kernels, anything else Paddle's conv2d."""
    weight = conv.weight if weight is None else weight
    out_channels, in_channels = conv._out_channels, conv._in_channels
    stride, padding = list(conv._stride), _padding_pair(conv)
    kernel = list(conv._kernel_size)
    plain_time = kernel[1] == 1 and stride[1] == 1 and padding is not None \
        and padding[1] == 0 and list(conv._dilation) == [1, 1]
    if kernel == [1, 1] and conv._groups == 1 and padding == [0, 0] \
            and stride[1] == 1 and x.shape[2] % stride[0] == 0:
        if stride[0] != 1:
            x = kept_frames(x, stride[0])
        n, _, t, v = x.shape
        y = shared_weight_matmul(weight.reshape([out_channels, in_channels]),
                                 x.reshape([n, in_channels, t * v]))
        return y.reshape([n, out_channels, t, v])
    if plain_time and conv._groups == 1 and stride[0] == 1 and kernel[0] > 1 \
            and 2 * padding[0] == kernel[0] - 1:
        return temporal_conv(x, weight, padding[0])
    if plain_time and conv._groups == in_channels == out_channels:
        return depthwise_temporal_conv(x, weight, stride[0], padding[0])
    return F.conv2d(x, weight, None, conv._stride, conv._padding, conv._dilation, conv._groups)


def _padding_pair(conv):
    """The conv's (time, joint) padding as two ints, or None for any other padding."""
    padding = conv._padding
    padding = list(padding) if isinstance(padding, (list, tuple)) else [padding] * 2
    if len(padding) == 2 and all(isinstance(p, int) for p in padding):
        return padding
    return None


def kept_frames(x, stride):
    """x[:, :, ::stride] for a frame count that stride divides, as a matrix product that picks
    the first V of every stride * V values. A strided 1x1 conv built on it trains 1.6x faster
    than conv2d (forward + backward); on the strided slice, 1.8x slower (Paddle's backward of
    that slice)."""
    _, c, t, v = x.shape
    pick_first_joints = paddle.eye(stride * v, v, dtype=x.dtype)
    return paddle.matmul(x.reshape([-1, c, t // stride, stride * v]), pick_first_joints)


def conv_act(conv, x, residual=None, act=None, weight=None, bias=None):
    """act(conv(x) + residual), the bias, residual add and act in one pass; weight and bias,
    if given, replace the conv's own (a batch norm folded on the fly)."""
    y = conv_without_bias(conv, x, weight)
    bias = conv.bias if weight is None else bias
    shift = None if bias is None else bias.reshape([-1, 1])
    return epilogue(flat(y), act, shift, flat(residual)).reshape(y.shape)


def conv_bn_act(conv, bn, x, residual=None, act=None):
    """act(bn(conv(x)) + residual): in training one fused batch-norm step, in eval the BN folded
    into the conv; a folded block (bn an Identity) is conv_act."""
    if isinstance(bn, nn.Identity):
        return conv_act(conv, x, residual, act)
    if not bn.training:
        return conv_act(conv, x, residual, act, *folded_conv_bn(conv, bn))
    y = conv_without_bias(conv, x)
    out = batch_norm_act(flat(y), bn, act, flat(residual), input_bias=conv.bias)
    return out.reshape(y.shape)


def block(layer, x, residual=None, act=None):
    """act(layer(x) + residual) for a temporal layer's sublayer: a ConvBN, the Conv2D it folds
    into, or the Identity a merged one leaves."""
    if isinstance(layer, ConvBN):
        return conv_bn_act(layer[0], layer[1], x, residual, act)
    if isinstance(layer, nn.Conv2D):
        return conv_act(layer, x, residual, act)
    return _activated(_plus(layer(x), residual), act)


def residual_of(layer, x):
    """The layer's residual branch; None for no residual (Zero adds nothing)."""
    return None if isinstance(layer.residual, Zero) else layer.residual(x)


def _plus(x, residual):
    return x if residual is None else x + residual


def _activated(x, act):
    return x if act is None else act(x)


# ---------------------------------------------------------------- the layers
def conv2d(conv, x):
    return conv_act(conv, x)


def conv_bn_block(layer, x):
    return conv_bn_act(layer[0], layer[1], x)


def graph_layer(layer, x):
    residual = residual_of(layer, x)
    if isinstance(layer.conv, FoldedGraphConv):
        return folded_graph_conv(layer.conv, x, residual, layer.act)
    weight, adjacency, bias = graph_conv_weights(layer.conv)
    weight = weight.transpose([1, 2, 0])                                   # C, C_in, K
    if not layer.bn.training:   # the BN folded on the fly
        scale, shift = batch_norm_affine(layer.bn)
        weight = weight * scale.reshape([-1, 1, 1])
        bias = shift.unsqueeze(1) if bias is None else \
            bias * scale.unsqueeze(1) + shift.unsqueeze(1)
        return aggregated_graph_conv(x, weight, adjacency, bias, residual, layer.act)
    y = aggregated_graph_conv(x, weight, adjacency, bias)
    return batch_norm_act(flat(y), layer.bn, layer.act, flat(residual)).reshape(y.shape)


def folded_graph_conv(conv, x, residual=None, act=None):
    return aggregated_graph_conv(x, conv.weight.transpose([1, 2, 0]), conv.adjacency, conv.bias,
                                 residual, act)


def aggregated_graph_conv(x, weight, adjacency, bias, residual=None, act=None):
    """act(sum_k (W_k x) A_k + bias + residual), computed as the joints aggregated per hop
    first (fewer channels than K * C_out), then one product mixing channels and hops:
    weight (C, C_in, K), adjacency (K, V, W), bias (C, W) or (C, 1) or None."""
    n, in_channel, t, v = x.shape
    out_channel, k = weight.shape[0], weight.shape[2]
    x = per_hop_matmul(x.reshape([-1, 1, t, v]), adjacency)        # N * C_in, K, T, W
    x = shared_weight_matmul(weight.reshape([out_channel, in_channel * k]),
                             x.reshape([n, in_channel * k, t * v]))
    if bias is not None and bias.shape[1] != 1:   # per channel and joint: over all frames
        bias = paddle.tile(bias, [1, t])
    return epilogue(x, act, bias, flat(residual)).reshape([n, out_channel, t, v])


def basic_layer(layer, x):
    return conv_bn_act(layer.conv, layer.bn, x, residual_of(layer, x), layer.act)


def bottleneck_layer(layer, x):
    res = residual_of(layer, x)
    x = block(layer.reduct_conv, x, act=layer.act)
    x = block(layer.conv, x, act=layer.act)
    return block(layer.expand_conv, x, res, layer.act)


def sep_layer(layer, x):
    res = residual_of(layer, x)
    if layer.expand_conv is not None:
        x = block(layer.expand_conv, x, act=layer.act)
    x = block(layer.depth_conv, x, act=layer.act)
    return block(layer.point_conv, x, res)


def sandglass_layer(layer, x):
    res = residual_of(layer, x)
    x = block(layer.depth_conv1, x, act=layer.act)
    x = block(layer.point_conv1, x)
    x = block(layer.point_conv2, x, act=layer.act)
    return block(layer.depth_conv2, x, res)


def joint_attention_factors(att, x):
    """ST_Joint_Att.factors with the means as matrix products (Paddle's CPU reduce is several
    times slower)."""
    _, c, t, v = x.shape
    x_t = mean_of_rows(x.reshape([-1, c * t, v])).reshape([-1, c, t, 1])
    ones = paddle.full([1, t], 1.0 / t, x.dtype)
    x_v = paddle.matmul(ones, x.reshape([-1, t, v])).reshape([-1, c, v, 1])
    return att.factors_of_means(x_t, x_v)


def joint_attention_map(att, x):
    """The (T, V) map as a batched matrix product of inner size 1: Paddle's CPU broadcast of
    (T, 1) * (1, V) is ~30x slower."""
    _, c, t, v = x.shape
    att_t, att_v = joint_attention_factors(att, x)
    outer = paddle.matmul(att_t.reshape([-1, t, 1]), att_v.reshape([-1, 1, v]))
    return outer.reshape([-1, c, t, v])


def attention_layer(layer, x):
    n, c, t, v = x.shape
    joint_attention = type(layer.att) is ST_Joint_Att
    if joint_attention and not layer.bn.training and joint_attention_fusable(x, layer.act):
        # one pass, the attention map never built
        return joint_attention_epilogue(x, *joint_attention_factors(layer.att, x),
                                        *batch_norm_affine(layer.bn), layer.act)
    if joint_attention and joint_attention_usable(x):
        weighted = apply_joint_attention(x, *joint_attention_factors(layer.att, x))
    else:
        weighted = x * layer.att(x)
    weighted, flat_x = flat(weighted), flat(x)
    if layer.bn.training:
        y = batch_norm_act(weighted, layer.bn, layer.act, flat_x)
    else:
        scale, shift = batch_norm_affine(layer.bn)
        y = epilogue(weighted, layer.act, shift.unsqueeze(1), flat_x, scale=scale)
    return y.reshape([n, c, t, v])


def classifier(layer, feature):
    c = feature.shape[1]
    x = mean_of_rows(feature.reshape([-1, c, int(np.prod(feature.shape[2:]))]))
    return layer.fc(layer.dropout(x.reshape([-1, c, 1, 1, 1]))).flatten(1)


def network(net, x):
    """EfficientGCN.forward with the input's split into bodies on every core."""
    n, m = x.shape[0], x.shape[5]
    x = split_bodies(x)                                                    # I, N * M, C, T, V
    x = paddle.concat([branch(x[k]) for k, branch in enumerate(net.input_branches)], axis=1)
    x = net.main_stream(x)
    _, c, t, v = x.shape
    feature = x.reshape([n, m, c, t, v]).transpose([0, 2, 3, 4, 1])
    return net.classifier(feature), feature


FORMS = {
    nn.Conv2D: conv2d,
    ConvBN: conv_bn_block,
    Spatial_Graph_Layer: graph_layer,
    Temporal_Basic_Layer: basic_layer,
    Temporal_Bottleneck_Layer: bottleneck_layer,
    Temporal_Sep_Layer: sep_layer,
    Temporal_SG_Layer: sandglass_layer,
    ST_Joint_Att: joint_attention_map,
    Attention_Layer: attention_layer,
    EfficientGCN_Classifier: classifier,
    EfficientGCN: network,
}
