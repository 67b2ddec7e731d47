import numpy as np
import paddle
import pytest

import model
import reference_forms
from initializer import build_model
from model.nets import EfficientGCN
from utils import load_config

ALL_CONFIGS = list(range(2001, 2025))
# (config, trainable parameters without edge masks, in millions, 60 classes): the paper's table
OFFICIAL_SIZES = [(2001, 0.286), (2005, 0.514), (2009, 1.099),
                  (2013, 0.325), (2017, 0.794), (2021, 2.035)]


def small_config(config_id, num_frame=16):
    cfg = load_config(str(config_id))
    cfg['dataset_args']['ntu']['num_frame'] = num_frame
    return cfg


def trainable_size(net):
    return sum(int(np.prod(p.shape)) for name, p in net.named_parameters()
               if not p.stop_gradient and not name.endswith('.edge'))


def test_rescale_block_b0_and_b4():
    args = [[48, 1, 0.5], [24, 1, 0.5], [64, 2, 1], [128, 2, 1]]
    assert model.rescale_block(args, [1.2, 1.35], 0) == [[48, 1, 0], [32, 1, 0], [64, 2, 1],
                                                         [128, 2, 1]]
    assert model.rescale_block(args, [1.2, 1.35], 4) == [[96, 1, 2], [48, 1, 2], [128, 2, 3],
                                                         [272, 2, 3]]


@pytest.mark.parametrize('config_id', ALL_CONFIGS)
def test_every_config_builds_and_runs_forward(config_id):
    cfg = small_config(config_id)
    net, graph, data_shape, num_class = build_model(cfg)
    net.eval()
    x = paddle.randn([2] + data_shape)
    logits, feature = net(x)
    assert logits.shape == [2, num_class]
    assert num_class == (60 if config_id % 4 in (1, 2) else 120)
    assert feature.shape[0] == 2 and feature.shape[3:] == [25, 2]   # V and M untouched
    assert feature.shape[2] == 16 // 4                               # two stride-2 blocks
    assert np.isfinite(logits.numpy()).all()


@pytest.mark.parametrize('config_id,million', OFFICIAL_SIZES)
def test_parameter_count_matches_paper(config_id, million):
    net, *_ = build_model(small_config(config_id))
    assert round(trainable_size(net) / 1e6, 3) == million


def test_classifier_and_conv_init_follow_official():
    paddle.seed(0)
    net, *_ = build_model(small_config(2001))
    fc = net.classifier.fc.weight.numpy()
    assert 0.0005 < fc.std() < 0.002 and np.all(net.classifier.fc.bias.numpy() == 0)
    gcn = net.input_branches[0].stem_scn.conv.gcn.weight.numpy()      # 192 x 6 x 1 x 1
    assert gcn.std() == pytest.approx(np.sqrt(2 / 192), rel=0.15)
    bn = net.input_branches[0].init_bn
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)


@pytest.mark.parametrize('layer_type', ['Basic', 'Bottleneck', 'Sep', 'SG'])
@pytest.mark.parametrize('att_type', ['stja', 'pa', 'ca', 'fa', 'ja'])
def test_every_layer_and_attention_trains(layer_type, att_type):
    """One backward pass through every temporal layer and attention type (Paddle 3 autograd)."""
    cfg = small_config(2013)
    cfg['model_args'].update(layer_type=layer_type, att_type=att_type)
    net, *_ = build_model(cfg)
    x = paddle.randn([2, 3, 6, 16, 25, 2])
    logits, _ = net(x)
    logits.sum().backward()
    edge = net.main_stream['block-0_scn'].conv.edge
    assert edge.grad is not None and float(edge.grad.abs().sum()) > 0
    att_params = [p for n, p in net.named_parameters() if '_att.att.' in n]
    assert att_params and all(p.grad is not None for p in att_params if not p.stop_gradient)


@pytest.mark.parametrize('act_type', ['relu', 'relu6', 'hswish', 'swish'])
def test_activations(act_type):
    cfg = small_config(2001)
    cfg['model_args']['act_type'] = act_type
    net, *_ = build_model(cfg)
    net.eval()
    logits, _ = net(paddle.randn([1, 3, 6, 16, 25, 2]))
    assert logits.shape == [1, 60]


def test_edge_false_uses_plain_graph():
    cfg = small_config(2001)
    cfg['model_args']['edge'] = False
    net, *_ = build_model(cfg)
    assert not any(name.endswith('.edge') for name, _ in net.named_parameters())


def test_unknown_names_are_clear_errors():
    for key, value in [('act_type', 'gelu'), ('att_type', 'xyz'), ('layer_type', 'LSTM')]:
        cfg = small_config(2001)
        cfg['model_args'][key] = value
        with pytest.raises(Exception, match=value):
            build_model(cfg)
    with pytest.raises(ValueError, match='scale factor'):
        model.create('EfficientGCN', 'swish', [[48, 1, 1]], [1.2, 1.35])


def test_model_class_is_exported():
    net, *_ = build_model(small_config(2001))
    assert isinstance(net, EfficientGCN)


@pytest.mark.parametrize('kernel,stride,groups,bias,frames', [
    ((1, 1), 1, 1, True, 12), ((1, 1), 1, 1, False, 12), ((1, 1), (2, 1), 1, True, 12),
    ((1, 1), (2, 1), 1, True, 13), ((5, 1), (2, 1), 1, True, 12), ((5, 1), 1, 8, True, 12)])
def test_fast_conv_equals_paddle_conv(kernel, stride, groups, bias, frames):
    """The CPU-fast Conv2D (matmul / view-bias) computes what nn.Conv2D does, and the same
    gradients; a strided 1x1 conv over a frame count the stride does not divide too."""
    from paddle import nn

    from model.layers import Conv2D
    padding = ((kernel[0] - 1) // 2, 0)
    fast = Conv2D(8, 16, kernel, stride, padding, groups=groups,
                  bias_attr=None if bias else False)
    plain = nn.Conv2D(8, 16, kernel, stride, padding, groups=groups,
                      bias_attr=None if bias else False)
    plain.set_state_dict(fast.state_dict())
    if bias:
        fast.bias.set_value(paddle.randn([16]))
        plain.bias.set_value(fast.bias)
    x = paddle.randn([3, 8, frames, 25])
    x.stop_gradient = False
    results = []
    for conv in (fast, plain):
        y = conv(x)
        (y * paddle.arange(y.size, dtype='float32').reshape(y.shape) / y.size).sum().backward()
        results.append([y.numpy()] + [p.grad.numpy().copy() for p in (x, *conv.parameters())])
        x.clear_gradient()
    for got, expected in zip(*results):   # output, then gradients of x, weight (and bias)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kernel,stride,groups', [(1, 1, 1), (5, 2, 1), (5, 1, 8)])
def test_conv_bn_folds_batch_norm_exactly_in_eval_mode(kernel, stride, groups):
    from model.layers import conv_bn
    block = conv_bn(8, 8, kernel, stride, groups)
    conv, bn = block[0], block[1]
    conv.bias.set_value(paddle.randn([8]))
    random_batch_norm(bn, 8)
    block.eval()
    x = paddle.randn([2, 8, 12, 25])
    np.testing.assert_allclose(block(x).numpy(), bn(conv(x)).numpy(), rtol=1e-4, atol=1e-5)
    block.train()
    np.testing.assert_allclose(block(x).numpy(), bn(conv(x)).numpy(), rtol=1e-4, atol=1e-5)


def random_batch_norm(bn, channels):
    for value in (bn.weight, bn.bias, bn._mean):
        value.set_value(paddle.randn([channels]))
    bn._variance.set_value(paddle.rand([channels]) + 0.5)


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('hand_written_backward', [True, False], ids=['cpu', 'as-on-gpu'])
def test_graph_conv_equals_its_definition_forward_and_backward(bias, hand_written_backward,
                                                              monkeypatch):
    """On the CPU the graph conv's matrix products have hand-written backwards; elsewhere
    Paddle's own (the same path here with those switched off)."""
    from dataset.graphs import Graph
    from model import fast_ops
    from model.layers import SpatialGraphConv
    if not hand_written_backward:
        monkeypatch.setattr(fast_ops, '_on_cpu_in_dygraph', lambda x: False)
    layer = SpatialGraphConv(6, 8, 2, bias, True, Graph('ntu').A)
    layer.edge.set_value(paddle.rand(layer.edge.shape) + 0.5)
    if bias:
        layer.gcn.bias.set_value(paddle.randn(layer.gcn.bias.shape))
    x = paddle.randn([3, 6, 12, 25])
    x.stop_gradient = False
    outputs, grads = [], []
    for forward in (layer, lambda x: reference_forms.graph_conv(layer, x)):
        y = forward(x)
        (y * paddle.arange(y.size, dtype='float32').reshape(y.shape) / y.size).sum().backward()
        outputs.append(y.numpy())
        grads.append([p.grad.numpy().copy() for p in (x, *layer.parameters())])
        for p in (x, *layer.parameters()):
            p.clear_gradient()
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)
    for fast, plain in zip(*grads):
        np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('in_channel', [6, 8], ids=['residual-conv', 'identity-residual'])
def test_graph_layer_folds_batch_norm_in_eval_mode(in_channel):
    """Eval folds the BN into the gcn and, where the residual is a 1x1 conv + BN, joins that
    conv to the gcn's channel mixing as an identity hop: the same values as the definition."""
    from dataset.graphs import Graph
    from model.layers import ConvBN, Spatial_Graph_Layer
    layer = Spatial_Graph_Layer(in_channel, 8, 2, True, paddle.nn.Swish(), edge=True,
                                A=Graph('ntu').A)
    layer.conv.gcn.bias.set_value(paddle.randn([24]))
    random_batch_norm(layer.bn, 8)
    if isinstance(layer.residual, ConvBN):
        layer.residual[0].bias.set_value(paddle.randn([8]))
        random_batch_norm(layer.residual[1], 8)
    layer.eval()
    x = paddle.randn([3, in_channel, 12, 25])
    expected = layer.act(layer.bn(reference_forms.graph_conv(layer.conv, x)) + layer.residual(x))
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_sandglass_layer_folds_its_pointwise_pair_in_eval_mode():
    """Eval runs point_conv1 and point_conv2 as one 1x1 conv: the same values as the two."""
    from model.layers import Temporal_SG_Layer
    layer = Temporal_SG_Layer(8, 5, True, paddle.nn.Swish(), reduct_ratio=2, stride=2)
    for block in (layer.point_conv1, layer.point_conv2):
        block[0].bias.set_value(paddle.randn(block[0].bias.shape))
        random_batch_norm(block[1], block[1].weight.shape[0])
    layer.eval()
    x = paddle.randn([3, 8, 12, 25])
    expected = reference_forms._sandglass_layer(layer, x)
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_joint_attention_equals_its_definition():
    """Means and the outer product are matrix products in the model; same values."""
    from model.attentions import ST_Joint_Att
    att = ST_Joint_Att(8, 2, True)
    att.eval()
    x = paddle.randn([3, 8, 12, 25])
    np.testing.assert_allclose(att(x).numpy(), reference_forms.joint_attention(att, x).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_classifier_averages_over_frames_joints_and_bodies():
    from model.nets import EfficientGCN_Classifier
    classifier = EfficientGCN_Classifier(8, 5, 0.25)
    classifier.eval()
    feature = paddle.randn([3, 8, 6, 25, 2])
    expected = classifier.fc(feature.mean(axis=[2, 3, 4], keepdim=True)).flatten(1)
    np.testing.assert_allclose(classifier(feature).numpy(), expected.numpy(), rtol=1e-5,
                               atol=1e-6)
