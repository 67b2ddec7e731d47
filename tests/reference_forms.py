"""The model's layers written the plain way (the seed's forms): the references that the fast
forms in model/ are checked against, layer by layer and end to end."""
import contextlib

import paddle
import paddle.nn.functional as F
from paddle import nn

from model import attentions, layers, nets


def graph_conv(layer, x):
    """1x1 conv to K * C channels, then einsum over hops and joints."""
    y = nn.Conv2D.forward(layer.gcn, x)
    n, kc, t, v = y.shape
    y = y.reshape([n, layer.s_kernel_size, kc // layer.s_kernel_size, t, v])
    return paddle.einsum('nkctv,kvw->nctw', y, layer.A * layer.edge)


def joint_attention(att, x):
    """Means over joints and frames, then the outer product as a broadcast."""
    t, v = x.shape[2], x.shape[3]
    x_t = x.mean(axis=3, keepdim=True)
    x_v = x.mean(axis=2, keepdim=True).transpose([0, 1, 3, 2])
    x_t, x_v = paddle.split(att.fcn(paddle.concat([x_t, x_v], axis=2)), [t, v], axis=2)
    return F.sigmoid(att.conv_t(x_t)) * F.sigmoid(att.conv_v(x_v.transpose([0, 1, 3, 2])))


def _plus_residual(y, residual):
    return y if residual is None else y + residual


def _activated(y, act):
    return y if act is None else act(y)


def _graph_layer(layer, x):
    return layer.act(_plus_residual(layer.bn(graph_conv(layer.conv, x)), layer.residual(x)))


def _conv_bn(block, x, residual=None, act=None):
    return _activated(_plus_residual(block[1](nn.Conv2D.forward(block[0], x)), residual), act)


def _basic_layer(layer, x):
    return layer.act(_plus_residual(layer.bn(nn.Conv2D.forward(layer.conv, x)),
                                    layer.residual(x)))


def _sandglass_layer(layer, x):
    res = layer.residual(x)
    x = layer.point_conv1(layer.depth_conv1(x, act=layer.act))
    return layer.depth_conv2(layer.point_conv2(x, act=layer.act), res)


def _attention_layer(layer, x):
    return layer.act(layer.bn(x * layer.att(x)) + x)


def _classifier(classifier, feature):
    return classifier.fc(classifier.dropout(feature.mean(axis=[2, 3, 4], keepdim=True))).flatten(1)


@contextlib.contextmanager
def plain_model(monkeypatch):
    """Inside, every model built or already built computes with the reference forms."""
    with monkeypatch.context() as patch:
        patch.setattr(layers.Conv2D, 'forward', nn.Conv2D.forward)
        patch.setattr(layers.ConvBN, 'forward', _conv_bn)
        patch.setattr(layers.Spatial_Graph_Layer, 'forward', _graph_layer)
        patch.setattr(layers.Temporal_Basic_Layer, 'forward', _basic_layer)
        patch.setattr(layers.Temporal_SG_Layer, 'forward', _sandglass_layer)
        patch.setattr(attentions.Attention_Layer, 'forward', _attention_layer)
        patch.setattr(attentions.ST_Joint_Att, 'forward', joint_attention)
        patch.setattr(nets.EfficientGCN_Classifier, 'forward', _classifier)
        yield
