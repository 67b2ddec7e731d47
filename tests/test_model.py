import numpy as np
import paddle
import pytest

import model
from helpers import config_of
from utils.config import load_config
from initializer import build_model
from model.nets import EfficientGCN

ALL_CONFIGS = list(range(2001, 2025))
# (config, trainable parameters without edge masks, in millions, 60 classes): the paper's table
OFFICIAL_SIZES = [(2001, 0.286), (2005, 0.514), (2009, 1.099),
                  (2013, 0.325), (2017, 0.794), (2021, 2.035)]


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
    cfg = config_of(config_id, num_frame=16)
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
    net, *_ = build_model(config_of(config_id, num_frame=16))
    assert round(trainable_size(net) / 1e6, 3) == million


def test_classifier_and_conv_init_follow_official():
    paddle.seed(0)
    net, *_ = build_model(config_of(2001, num_frame=16))
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
    cfg = config_of(2013, num_frame=16)
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
    cfg = config_of(2001, num_frame=16)
    cfg['model_args']['act_type'] = act_type
    net, *_ = build_model(cfg)
    net.eval()
    logits, _ = net(paddle.randn([1, 3, 6, 16, 25, 2]))
    assert logits.shape == [1, 60]


def test_edge_false_uses_plain_graph():
    cfg = config_of(2001, num_frame=16)
    cfg['model_args']['edge'] = False
    net, *_ = build_model(cfg)
    assert not any(name.endswith('.edge') for name, _ in net.named_parameters())


def test_unknown_names_are_clear_errors():
    for key, value in [('act_type', 'gelu'), ('att_type', 'xyz'), ('layer_type', 'LSTM')]:
        cfg = config_of(2001, num_frame=16)
        cfg['model_args'][key] = value
        with pytest.raises(Exception, match=value):
            build_model(cfg)
    with pytest.raises(ValueError, match='scale factor'):
        model.create('EfficientGCN', 'swish', [[48, 1, 1]], [1.2, 1.35])


def test_model_class_is_exported():
    net, *_ = build_model(config_of(2001, num_frame=16))
    assert isinstance(net, EfficientGCN)


def test_channel_attention_is_a_sigmoid_of_the_pooled_map():
    """att_type ca, as the official Channel_Att: pool, 1x1 conv, BN, ReLU, 1x1 conv, sigmoid."""
    from model.attentions import Channel_Att
    att = Channel_Att(8)
    att.eval()
    x = paddle.randn([3, 8, 12, 25])
    fcn = att.fcn
    pooled = x.mean(axis=[2, 3], keepdim=True)
    hidden = paddle.nn.functional.relu(fcn[2](fcn[1](pooled)))
    expected = 1 / (1 + np.exp(-fcn[4](hidden).numpy()))
    got = att(x).numpy()
    assert got.shape == (3, 8, 1, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got.sum(axis=1), 1)   # not a softmax over channels


def test_frame_attention_is_the_conv_of_mean_and_max_without_sigmoid():
    """att_type fa, as the official Frame_Att: per frame [mean, max] over channels and joints,
    then the 9 x 1 conv, and nothing after it."""
    from model.attentions import Frame_Att
    att = Frame_Att()
    x = paddle.randn([3, 8, 12, 25])
    values = x.numpy()
    pooled = np.stack([values.mean(axis=(1, 3)), values.max(axis=(1, 3))], axis=1)  # N, 2, T
    w, b = att.conv.weight.numpy()[0, :, :, 0], att.conv.bias.numpy()[0]            # (2, 9)
    padded = np.pad(pooled, ((0, 0), (0, 0), (4, 4)))
    expected = np.stack([(padded[:, :, t:t + 9] * w).sum(axis=(1, 2)) for t in range(12)],
                        axis=1) + b
    got = att(x).numpy()
    assert got.shape == (3, 1, 12, 1)
    np.testing.assert_allclose(got[:, 0, :, 0], expected, rtol=1e-5, atol=1e-5)


def test_graph_conv_is_its_conv_then_the_per_hop_aggregation():
    """The 1x1 conv to K groups of channels, then per hop the joints aggregated with A * edge,
    summed over hops: written out here with numpy."""
    from dataset.graphs import Graph
    from model.layers import SpatialGraphConv
    conv = SpatialGraphConv(6, 8, 2, True, True, Graph('ntu').A)
    conv.edge.set_value(paddle.rand(conv.edge.shape) + 0.5)
    conv.gcn.bias.set_value(paddle.randn([24]))
    x = paddle.randn([2, 6, 10, 25])
    w, b = conv.gcn.weight.numpy()[:, :, 0, 0], conv.gcn.bias.numpy()
    y = np.einsum('oi,nitv->notv', w, x.numpy()) + b[:, None, None]
    y = y.reshape(2, 3, 8, 10, 25)
    adjacency = conv.A.numpy() * conv.edge.numpy()
    expected = sum(y[:, k] @ adjacency[k] for k in range(3))
    np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('config_id,paper_gmacs', [(2001, 2.73), (2005, 4.05), (2009, 8.36)])
def test_profile_is_the_papers_within_5_percent(config_id, paper_gmacs):
    """Multiply-adds per sample at 288 frames, counted as thop counts the official model."""
    from utils import model_profile
    net, _, data_shape, _ = build_model(load_config(str(config_id)))
    figures = model_profile.profile(net, data_shape)
    assert figures['multiply_adds'] / 1e9 == pytest.approx(paper_gmacs, rel=0.05)
    assert figures['parameters'] == trainable_size(net)
    assert figures['aggregation'] > 0


def test_profile_flag_needs_no_data(tmp_path):
    from helpers import run_main
    result = run_main('-c', '2001', '-pf', '--set', f'dataset_args.ntu.root_folder={tmp_path}')
    assert result.returncode == 0, result.stderr[-2000:]
    assert '0.286 M trainable parameters' in result.stdout
    assert '2.69 G multiply-adds' in result.stdout


def test_profile_counts_the_same_with_the_cpu_backend_installed():
    """Training logs the profile of the engine's model, which carries the CPU backend."""
    from utils import model_profile
    from model import cpu_backend
    net, _, data_shape, _ = build_model(load_config('1001'))
    plain = model_profile.profile(net, data_shape)
    if not cpu_backend.install(net):
        pytest.skip('the CPU backend is not installed here (no C compiler or EFFICIENTGCN_NO_C)')
    assert model_profile.profile(net, data_shape) == plain
    assert plain['multiply_adds'] > 1e8
