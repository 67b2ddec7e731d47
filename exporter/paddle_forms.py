"""The forms of the folded model that Paddle Inference's oneDNN runs fastest on the CPU, put on
the model for `paddle.jit.save` only. Each computes what the layer's own forward defines.

They keep plain conv2d (with its bias) and poolings, which oneDNN's passes fuse with the add and
activation after them, and avoid copies: in oneDNN every reshape is a copy, or a reorder out of
the blocked layout its convolutions use. Measured in Paddle Inference 3.3 on B0, batch 16.
"""
import paddle
import paddle.nn.functional as F

from model.attentions import Attention_Layer, ST_Joint_Att
from model.backend import install_forms
from model.layers import Spatial_Graph_Layer
from model.nets import EfficientGCN_Classifier
from model.reparameterize import FoldedGraphConv, batch_norm_affine


def graph_layer(layer, x):
    """The joints aggregated per hop first, then one product mixing channels and hops. The
    mixing product reads the hop map through reshape + an identity transpose, which oneDNN
    fuses into the matmul's read instead of copying the map (B0 10% faster). Only on a matmul's
    output: on a convolution's (blocked) output that fused read gives wrong values in Paddle
    3.3. The residual is added to the 4-D map, where oneDNN keeps its layout."""
    conv = layer.conv
    _, in_channel, t, v = x.shape
    k, out_channel, _ = conv.weight.shape
    hops = paddle.matmul(x.reshape([-1, 1, t, v]), conv.adjacency)        # N * C_in, K, T, W
    hops = hops.reshape([-1, in_channel * k, t * v]).transpose([0, 1, 2])
    weight = conv.weight.transpose([1, 2, 0]).reshape([out_channel, in_channel * k])
    y = paddle.matmul(weight, hops) + paddle.tile(conv.bias, [1, t])
    return layer.act(y.reshape([-1, out_channel, t, v]) + layer.residual(x))


def joint_attention_layer(layer, x):
    """act(x * (1 + scale * att_t att_v^T) + shift): the BN's affine folded into the map, and
    the map one 4-D matrix product of inner size 2 (the factors, then ones for the 1), so that
    no reshape copies it (B0 3% faster). Both factors are reshaped to rows first, which also
    takes them out of oneDNN's blocked layout: in Paddle Inference 3.3 a 4-D matmul fed by a
    conv can give wrong values. The means are poolings, which oneDNN runs in its layout."""
    att = layer.att
    _, c, t, v = x.shape
    x_t, x_v = F.avg_pool2d(x, [1, v]), F.avg_pool2d(x, [t, 1]).reshape([-1, c, v, 1])
    att_t, att_v = att.factors_of_means(x_t, x_v)
    scale, shift = batch_norm_affine(layer.bn)
    per_frame = att_t.reshape([-1, c, 1, t]) * scale.reshape([-1, 1, 1])
    per_joint = att_v.reshape([-1, c, 1, v])
    one = paddle.ones([1, 1, 1, 1], x.dtype)   # ones_like warns in PIR static graphs
    per_frame = paddle.concat([per_frame, one.expand_as(per_frame)], axis=2)
    per_joint = paddle.concat([per_joint, one.expand_as(per_joint)], axis=2)
    attention = paddle.matmul(per_frame, per_joint, transpose_x=True)     # N, C, T, V
    return layer.act(x * attention + shift.reshape([-1, 1, 1]))


def attention_layer(layer, x):
    if type(layer.att) is ST_Joint_Att:
        return joint_attention_layer(layer, x)
    return type(layer).forward(layer, x)


def classifier(layer, feature):
    """The mean as a matrix product with a constant column, which oneDNN runs as one matmul."""
    c = feature.shape[1]
    length = feature.shape[2] * feature.shape[3] * feature.shape[4]
    column = paddle.full([length, 1], 1.0 / length, feature.dtype)
    x = paddle.matmul(feature.reshape([-1, c, length]), column)
    return layer.fc(layer.dropout(x.reshape([-1, c, 1, 1, 1]))).flatten(1)


def folded_graph_layer(layer, x):
    if isinstance(layer.conv, FoldedGraphConv):
        return graph_layer(layer, x)
    return type(layer).forward(layer, x)


FORMS = {
    Spatial_Graph_Layer: folded_graph_layer,
    Attention_Layer: attention_layer,
    EfficientGCN_Classifier: classifier,
}


def install(net):
    """Put the forms on a reparameterised model (model.reparameterize) before paddle.jit.save."""
    return install_forms(net, FORMS)
