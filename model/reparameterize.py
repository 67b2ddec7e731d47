"""Eval-time re-parameterisation: the trained network as fewer, exactly equal operations.

`reparameterize(net)` returns an eval-mode copy of `net` in which
- each batch norm that follows a convolution is folded into that convolution's weight and bias
  (BN(Wx + b) = (s W) x + (s b + t), with s and t the BN's affine in eval mode);
- a graph layer's gcn and BN become one FoldedGraphConv, and (merge_residual_conv) its residual
  1x1 conv + BN joins it as one more hop whose adjacency is the identity;
- the sandglass layer's two 1x1 convs, with no activation between them, become one:
  W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2).
The layers keep their forwards: a folded ConvBN is its convolution, a folded BN an Identity.
The copy computes with the plain forms (install a backend on it again); `net` is unchanged,
so training can go on after an evaluation. Do it once per evaluation or export, not per batch.
"""
import copy

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .backend import remove_forms
from .layers import (ConvBN, Spatial_Graph_Layer, SpatialGraphConv, Temporal_Basic_Layer,
                     Temporal_SG_Layer, Zero)


class FoldedGraphConv(nn.Layer):
    """A graph convolution with the batch norm after it folded in, and possibly more hops:

        y[n, c, t, w] = sum_k sum_v (W_k x)[n, c, t, v] * adjacency_k[v, w] + bias[c, w]

    weight (K, C_out, C_in), adjacency (K, V, V), bias (C_out, V): the gcn's own bias, seen
    through the aggregation, varies with the joint. Computed in the other order, the same linear
    map: per hop the joints of each input channel aggregated (C_in < K * C_out maps), then one
    1x1 conv mixing channels and hops. ONNX Runtime runs B0 1.2-1.3x faster in this order than
    in the official one.
    """

    def __init__(self, weight, adjacency, bias):
        super().__init__()
        self.weight = self.create_parameter(weight.shape)
        self.bias = self.create_parameter(bias.shape, is_bias=True)
        self.weight.set_value(weight)
        self.bias.set_value(bias)
        self.register_buffer('adjacency', adjacency)

    def forward(self, x):
        _, in_channel, t, v = x.shape
        k, out_channel, _ = self.weight.shape
        hops = paddle.matmul(x.reshape([-1, 1, t, v]), self.adjacency)    # N * C_in, K, T, W
        mixing = self.weight.transpose([1, 2, 0]).reshape([out_channel, in_channel * k, 1, 1])
        y = F.conv2d(hops.reshape([-1, in_channel * k, t, v]), mixing)
        return y + self.bias.unsqueeze(1)


def batch_norm_affine(bn):
    """An eval-mode BatchNorm as y = x * scale + shift, per channel."""
    scale = bn.weight * paddle.rsqrt(bn._variance + bn._epsilon)
    return scale, bn.bias - bn._mean * scale


def folded_conv_bn(conv, bn):
    """The (weight, bias) of conv followed by bn in eval mode, as one convolution."""
    scale, shift = batch_norm_affine(bn)
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    return conv.weight * scale.reshape([-1, 1, 1, 1]), shift


def reparameterize(net, merge_residual_conv=True):
    """The folded eval-mode copy of net (see the module's docstring)."""
    net = remove_forms(copy.deepcopy(net))
    net.eval()
    with paddle.no_grad():
        for layer in net.sublayers():
            if isinstance(layer, Spatial_Graph_Layer) and type(layer.conv) is SpatialGraphConv:
                _fold_graph_layer(layer, merge_residual_conv)
            elif isinstance(layer, Temporal_SG_Layer):
                _merge_pointwise_pair(layer)
            elif isinstance(layer, Temporal_Basic_Layer):
                _fold_into(layer.conv, layer.bn)
                layer.bn = nn.Identity()
        for layer in net.sublayers(include_self=True):
            if isinstance(layer, nn.Sequential):
                _fold_sequence(layer)
        _unwrap_folded_conv_bns(net)
    return net


def _fold_into(conv, bn):
    """conv becomes conv followed by bn (eval mode), in place."""
    weight, bias = folded_conv_bn(conv, bn)
    conv.weight.set_value(weight)
    if conv.bias is None:
        conv.bias = conv.create_parameter([conv._out_channels], is_bias=True)
    conv.bias.set_value(bias)


def _fold_sequence(sequence):
    """Each Conv2D directly followed by a BatchNorm2D in the sequence: the BN folded into it,
    then an Identity in its place."""
    items = list(sequence._sub_layers.items())
    for (_, conv), (name, bn) in zip(items, items[1:]):
        if isinstance(conv, nn.Conv2D) and isinstance(bn, nn.BatchNorm2D):
            _fold_into(conv, bn)
            sequence._sub_layers[name] = nn.Identity()


def _unwrap_folded_conv_bns(net):
    """A ConvBN whose BN was folded is just its convolution."""
    for layer in net.sublayers(include_self=True):
        for name, child in list(layer._sub_layers.items()):
            if isinstance(child, ConvBN) and isinstance(child[1], nn.Identity):
                layer._sub_layers[name] = child[0]


def graph_conv_weights(conv):
    """A SpatialGraphConv as its per-hop weights (K, C, C_in), its adjacency A * edge (K, V, W)
    and its bias seen through the aggregation, sum_k b[k, c] * sum_v A_k[v, w] (C, W), or None
    without a bias: sum_k (W_k x + b_k) A_k = sum_k (W_k x) A_k + bias."""
    k = conv.s_kernel_size
    weight = conv.gcn.weight.reshape([k, conv.gcn._out_channels // k, -1])
    adjacency = conv.A * conv.edge
    if conv.gcn.bias is None:
        return weight, adjacency, None
    bias = paddle.matmul(conv.gcn.bias.reshape(weight.shape[:2]), adjacency.sum(axis=1),
                         transpose_x=True)
    return weight, adjacency, bias


def _fold_graph_layer(layer, merge_residual_conv):
    weight, adjacency, bias = graph_conv_weights(layer.conv)
    out_channel = weight.shape[1]
    if bias is None:
        bias = paddle.zeros([out_channel, adjacency.shape[2]])
    scale, shift = batch_norm_affine(layer.bn)
    weight = weight * scale.reshape([1, -1, 1])
    bias = bias * scale.unsqueeze(1) + shift.unsqueeze(1)
    if merge_residual_conv and isinstance(layer.residual, ConvBN):
        hop_weight, hop_bias = folded_conv_bn(layer.residual[0], layer.residual[1])
        identity = paddle.eye(adjacency.shape[1], dtype=adjacency.dtype).unsqueeze(0)
        adjacency = paddle.concat([adjacency, identity])
        weight = paddle.concat([weight, hop_weight.reshape([1, out_channel, -1])])
        bias = bias + hop_bias.unsqueeze(1)
        layer.residual = Zero()
    layer.conv = FoldedGraphConv(weight, adjacency, bias)
    layer.bn = nn.Identity()


def _merge_pointwise_pair(layer):
    (w1, b1), (w2, b2) = (folded_conv_bn(block[0], block[1])
                          for block in (layer.point_conv1, layer.point_conv2))
    w1, w2 = w1.reshape(w1.shape[:2]), w2.reshape(w2.shape[:2])
    merged = nn.Conv2D(w1.shape[1], w2.shape[0], 1)
    merged.weight.set_value(paddle.matmul(w2, w1).reshape(merged.weight.shape))
    merged.bias.set_value(paddle.matmul(w2, b1.unsqueeze(1)).squeeze(1) + b2)
    layer.point_conv1 = nn.Identity()
    layer.point_conv2 = merged
