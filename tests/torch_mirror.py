"""Our EfficientGCN-B0 in PyTorch, built layer by layer from the Paddle model with its weights
and computed as the official PyTorch implementation computes it: the graph convolution as a 1x1
conv to K x C channels then an einsum over hops and joints, the joint attention as a product of
two sigmoid maps. For tests/bench_torch_reference.py only; B0's kinds of layer are mirrored
(SG temporal layers, joint attention), others raise NotImplementedError."""
import numpy as np
import torch
import torch.nn as tnn

ACTIVATIONS = {'Swish': tnn.SiLU, 'ReLU': tnn.ReLU, 'ReLU6': tnn.ReLU6, 'Hardswish': tnn.Hardswish}


def tensor(value):
    """A Paddle tensor's values as a torch tensor."""
    return torch.from_numpy(np.array(value.numpy(), dtype=np.float32))


def conv(layer):
    """A torch conv with a Paddle Conv2D / Conv3D's settings and weights."""
    cls = tnn.Conv3d if type(layer).__name__ == 'Conv3D' else tnn.Conv2d
    padding = layer._padding if isinstance(layer._padding, int) else tuple(layer._padding)
    out = cls(layer._in_channels, layer._out_channels, tuple(layer._kernel_size),
              tuple(layer._stride), padding, groups=layer._groups, bias=layer.bias is not None)
    out.weight.data = tensor(layer.weight)
    if layer.bias is not None:
        out.bias.data = tensor(layer.bias)
    return out


def batch_norm(layer):
    out = tnn.BatchNorm2d(layer.weight.shape[0], eps=layer._epsilon)
    out.weight.data, out.bias.data = tensor(layer.weight), tensor(layer.bias)
    out.running_mean.data, out.running_var.data = tensor(layer._mean), tensor(layer._variance)
    return out


def conv_bn(layer):
    """Our ConvBN (conv, BN) as a torch Sequential."""
    return tnn.Sequential(conv(layer[0]), batch_norm(layer[1]))


def residual(layer):
    if type(layer).__name__ == 'Identity':
        return tnn.Identity()
    if type(layer).__name__ == 'ConvBN':
        return conv_bn(layer)
    raise NotImplementedError(f'residual {type(layer).__name__} is not mirrored')


def activation(layer):
    name = type(layer).__name__
    if name not in ACTIVATIONS:
        raise NotImplementedError(f'activation {name} is not mirrored')
    return ACTIVATIONS[name]()


class GraphLayer(tnn.Module):
    """act(BN(einsum(conv(x), A * edge)) + residual(x)), the official order."""

    def __init__(self, layer):
        super().__init__()
        self.hops = layer.conv.s_kernel_size
        self.gcn = conv(layer.conv.gcn)
        self.register_buffer('adjacency', tensor(layer.conv.A * layer.conv.edge))
        self.bn, self.residual = batch_norm(layer.bn), residual(layer.residual)
        self.act = activation(layer.act)

    def forward(self, x):
        y = self.gcn(x)
        n, kc, t, v = y.shape
        y = torch.einsum('nkctv,kvw->nctw', y.view(n, self.hops, kc // self.hops, t, v),
                         self.adjacency)
        return self.act(self.bn(y) + self.residual(x))


class BasicLayer(tnn.Module):
    def __init__(self, layer):
        super().__init__()
        self.conv = tnn.Sequential(conv(layer.conv), batch_norm(layer.bn))
        self.residual, self.act = residual(layer.residual), activation(layer.act)

    def forward(self, x):
        return self.act(self.conv(x) + self.residual(x))


class SandglassLayer(tnn.Module):
    def __init__(self, layer):
        super().__init__()
        self.depth_conv1, self.point_conv1 = conv_bn(layer.depth_conv1), conv_bn(layer.point_conv1)
        self.point_conv2, self.depth_conv2 = conv_bn(layer.point_conv2), conv_bn(layer.depth_conv2)
        self.residual, self.act = residual(layer.residual), activation(layer.act)

    def forward(self, x):
        res = self.residual(x)
        x = self.point_conv1(self.act(self.depth_conv1(x)))
        return self.depth_conv2(self.act(self.point_conv2(x))) + res


class JointAttentionLayer(tnn.Module):
    """act(BN(x * sigmoid(conv_t(.)) sigmoid(conv_v(.))^T) + x)."""

    def __init__(self, layer):
        super().__init__()
        att = layer.att
        self.fcn = tnn.Sequential(conv(att.fcn[0]), batch_norm(att.fcn[1]), tnn.Hardswish())
        self.conv_t, self.conv_v = conv(att.conv_t), conv(att.conv_v)
        self.bn, self.act = batch_norm(layer.bn), activation(layer.act)

    def forward(self, x):
        t, v = x.shape[2], x.shape[3]
        pooled = torch.cat([x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)], 2)
        att_t, att_v = torch.split(self.fcn(pooled), [t, v], 2)
        att = self.conv_t(att_t).sigmoid() * self.conv_v(att_v).sigmoid().transpose(2, 3)
        return self.act(self.bn(x * att) + x)


def mirror_layer(layer):
    """The torch form of one layer of our EfficientGCN_Blocks (B0's kinds)."""
    name = type(layer).__name__
    if name == 'Attention_Layer' and type(layer.att).__name__ == 'ST_Joint_Att':
        return JointAttentionLayer(layer)
    mirrors = {'BatchNorm2D': batch_norm, 'Spatial_Graph_Layer': GraphLayer,
               'Temporal_Basic_Layer': BasicLayer, 'Temporal_SG_Layer': SandglassLayer}
    if name not in mirrors:
        raise NotImplementedError(f'{name} is not mirrored (B0 with SG layers and joint '
                                  'attention is)')
    return mirrors[name](layer)


class TorchEfficientGCN(tnn.Module):
    def __init__(self, net):
        super().__init__()
        self.input_branches = tnn.ModuleList(
            tnn.Sequential(*[mirror_layer(layer) for layer in branch.children()])
            for branch in net.input_branches)
        self.main_stream = tnn.Sequential(*[mirror_layer(layer)
                                            for layer in net.main_stream.children()])
        self.dropout = tnn.Dropout(net.classifier.dropout.p)
        self.fc = conv(net.classifier.fc)

    def forward(self, x):
        n, i, c, t, v, m = x.shape
        x = x.permute(1, 0, 5, 2, 3, 4).reshape(i, n * m, c, t, v)
        x = torch.cat([branch(x[k]) for k, branch in enumerate(self.input_branches)], 1)
        x = self.main_stream(x)
        _, c, t, v = x.shape
        feature = x.view(n, m, c, t, v).permute(0, 2, 3, 4, 1)
        return self.fc(self.dropout(feature.mean((2, 3, 4), keepdim=True))).flatten(1)
