"""model.cpu_backend.fused_ops: each fused form against Paddle's own operations, forward and every
gradient, with the C kernels (kernels.c) and with them switched off."""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from model.cpu_backend import fused_ops, native

ACTIVATIONS = [None, nn.Swish(), nn.ReLU(), nn.ReLU6(), nn.Hardswish()]
ACTIVATION_IDS = ['none', 'swish', 'relu', 'relu6', 'hardswish']


@pytest.fixture(params=['C', 'paddle'])
def kernels(request, monkeypatch):
    """Run the test with the C kernels, then with Paddle's operations alone."""
    if request.param == 'C':
        if not native.available():
            pytest.skip('the model kernels cannot be built here (no C compiler?)')
    else:
        monkeypatch.setattr(native, '_library', lambda: None)
    return request.param


def random(*shape, scale=1.0, offset=0.0, seed=0):
    values = np.random.RandomState(seed).standard_normal(shape) * scale + offset
    return paddle.to_tensor(values.astype(np.float32))


def leaf(tensor):
    tensor = tensor.clone()
    tensor.stop_gradient = False
    return tensor


def batch_norm(channels):
    bn = nn.BatchNorm2D(channels)
    bn.weight.set_value(np.linspace(0.5, 2.0, channels).astype(np.float32))
    bn.bias.set_value(np.linspace(-1.0, 1.0, channels).astype(np.float32))
    bn.train()
    return bn


def gradients_of(output, *inputs, seed=1):
    """Backward of sum(output * a fixed random map); the inputs' gradients (None for None)."""
    (output * random(*output.shape, seed=seed)).sum().backward()
    return [None if t is None else t.grad.numpy() for t in inputs]


@pytest.mark.parametrize('act', ACTIVATIONS, ids=ACTIVATION_IDS)
@pytest.mark.parametrize('with_residual', [False, True])
def test_batch_norm_act_matches_paddle_ops(kernels, act, with_residual):
    # 4 x 6 x 3000 values: more than the kernels' one-thread threshold, so threads run too
    x0, residual0, bias0 = random(4, 6, 3000, scale=3, offset=2), random(4, 6, 3000), random(6)
    results = []
    for fused in (True, False):
        bn = batch_norm(6)
        x, bias = leaf(x0), leaf(bias0)
        residual = leaf(residual0) if with_residual else None
        if fused:
            y = fused_ops.batch_norm_act(x, bn, act, residual, input_bias=bias)
        else:   # the plain form, written out
            y = bn((x + bias.reshape([-1, 1])).reshape([4, 6, 3000, 1])).reshape([4, 6, 3000])
            y = y if residual is None else y + residual
            y = y if act is None else act(y)
        grads = gradients_of(y, x, bn.weight, bn.bias, residual)
        results.append([y.numpy(), *grads, bn._mean.numpy(), bn._variance.numpy()])
    for fused, plain in zip(*results):
        if plain is not None:
            np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=5e-5)


def test_batch_norm_act_cancels_the_input_bias_exactly(kernels):
    """The conv bias before a training-mode BN: no effect on the output, zero gradient, and the
    running mean follows the biased input."""
    bn = batch_norm(3)
    x, bias = leaf(random(2, 3, 50)), leaf(random(3, scale=5))
    y = fused_ops.batch_norm_act(x, bn, nn.Swish(), input_bias=bias)
    bn_plain = batch_norm(3)
    plain = F.swish(bn_plain(x.reshape([2, 3, 50, 1]))).reshape([2, 3, 50])
    np.testing.assert_allclose(y.numpy(), plain.numpy(), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), 0, atol=1e-4)
    expected_mean = 0.1 * (x.numpy().mean(axis=(0, 2)) + bias.numpy())
    np.testing.assert_allclose(bn._mean.numpy(), expected_mean, rtol=1e-5, atol=1e-6)


def test_batch_norm_statistics_with_a_large_mean(kernels):
    """One-pass moments must not cancel: values around 1000 with unit spread."""
    bn = batch_norm(2)
    x = random(8, 2, 4000, offset=1000.0)
    fused_ops.batch_norm_act(x, bn)
    expected = 0.9 + 0.1 * x.numpy().var(axis=(0, 2))
    np.testing.assert_allclose(bn._variance.numpy(), expected, rtol=1e-4)


@pytest.mark.parametrize('act', ACTIVATIONS, ids=ACTIVATION_IDS)
@pytest.mark.parametrize('shift_shape', [(6, 1), (6, 3000)], ids=['per-channel', 'per-position'])
def test_epilogue_matches_paddle_ops(kernels, act, shift_shape):
    x, residual = random(4, 6, 3000, scale=4), random(4, 6, 3000, seed=2)
    shift, scale = random(*shift_shape, seed=3), random(6, seed=4)
    with paddle.no_grad():
        fused = fused_ops.epilogue(x, act, shift, residual, scale=scale)
    plain = x * scale.reshape([-1, 1]) + shift + residual
    plain = plain if act is None else act(plain)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-5)


def test_epilogue_keeps_gradients(kernels):
    """With gradients wanted, the epilogue is Paddle's differentiable operations."""
    x, shift = leaf(random(2, 3, 40)), leaf(random(3, 1))
    y = fused_ops.epilogue(x, nn.Swish(), shift)
    x_grad, shift_grad = gradients_of(y, x, shift)
    x2, shift2 = leaf(random(2, 3, 40)), leaf(random(3, 1))
    expected = gradients_of(F.swish(x2 + shift2), x2, shift2)
    np.testing.assert_allclose(x_grad, expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(shift_grad, expected[1], rtol=1e-5, atol=1e-5)


def test_swish_over_a_wide_range(kernels):
    """The kernels' exp is an approximation: check it where it saturates and in between."""
    x = paddle.to_tensor(np.linspace(-120, 120, 240001).astype(np.float32)).reshape([1, 1, -1])
    with paddle.no_grad():
        fused = fused_ops.epilogue(x, nn.Swish())
    np.testing.assert_allclose(fused.numpy(), F.swish(x).numpy(), rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize('stride,frames,taps', [(1, 20, 5), (2, 21, 5), (2, 20, 3), (1, 7, 9),
                                                (3, 10, 5), (1, 300, 5)])
def test_depthwise_temporal_conv_matches_conv2d(kernels, stride, frames, taps):
    pad = (taps - 1) // 2
    x0, weight0 = random(3, 8, frames, 25), random(8, 1, taps, 1, seed=5)
    results = []
    for fused in (True, False):
        x, weight = leaf(x0), leaf(weight0)
        if fused:
            y = fused_ops.depthwise_temporal_conv(x, weight, stride, pad)
        else:
            y = F.conv2d(x, weight, None, (stride, 1), (pad, 0), groups=8)
        results.append([y.numpy(), *gradients_of(y, x, weight)])
    for fused, plain in zip(*results):
        assert fused.shape == plain.shape
        np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize('frames,taps', [(20, 5), (7, 9), (300, 5), (4, 3), (2, 9)])
def test_temporal_conv_matches_conv2d(kernels, frames, taps):
    pad = (taps - 1) // 2
    x0, weight0 = random(3, 6, frames, 25), random(10, 6, taps, 1, seed=5)
    results = []
    for fused in (True, False):
        x, weight = leaf(x0), leaf(weight0)
        y = fused_ops.temporal_conv(x, weight, pad) if fused else \
            F.conv2d(x, weight, None, 1, (pad, 0))
        results.append([y.numpy(), *gradients_of(y, x, weight)])
    for fused, plain in zip(*results):
        assert fused.shape == plain.shape
        np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4)


def test_split_bodies_is_the_transpose(kernels):
    x = random(3, 2, 4, 300, 25, 2)
    expected = x.numpy().transpose(1, 0, 5, 2, 3, 4).reshape(2, 6, 4, 300, 25)
    np.testing.assert_array_equal(fused_ops.split_bodies(x).numpy(), expected)


@pytest.mark.parametrize('act', ACTIVATIONS, ids=ACTIVATION_IDS)
def test_joint_attention_epilogue_matches_paddle_ops(act):
    if not native.available():
        pytest.skip('the model kernels cannot be built here (no C compiler?)')
    x = random(3, 8, 40, 25, scale=2)
    att_t, att_v = F.sigmoid(random(3, 8, 40, 1, seed=1)), F.sigmoid(random(3, 8, 25, 1, seed=2))
    scale, shift = random(8, seed=3), random(8, seed=4)
    with paddle.no_grad():
        assert fused_ops.joint_attention_fusable(x, act)
        fused = fused_ops.joint_attention_epilogue(x, att_t, att_v, scale, shift, act)
    attention = att_t * att_v.reshape([3, 8, 1, 25])
    plain = x * attention * scale.reshape([-1, 1, 1]) + shift.reshape([-1, 1, 1]) + x
    plain = plain if act is None else act(plain)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-5)


def test_applied_joint_attention_matches_the_built_map():
    """x * (att_t ⊗ att_v) and all three gradients, against the map built as ST_Joint_Att
    builds it (a batched outer product); 4 x 8 x 60 x 25 values run on both threads."""
    if not native.available():
        pytest.skip('the model kernels cannot be built here (no C compiler?)')
    inputs = (random(4, 8, 60, 25, scale=2), F.sigmoid(random(4, 8, 60, 1, seed=2)),
              F.sigmoid(random(4, 8, 25, 1, seed=3)))
    results = []
    for applied in (True, False):
        x, att_t, att_v = (leaf(t) for t in inputs)
        assert fused_ops.joint_attention_usable(x)
        if applied:
            y = fused_ops.apply_joint_attention(x, att_t, att_v)
        else:
            y = x * paddle.matmul(att_t.reshape([-1, 60, 1]), att_v.reshape([-1, 1, 25])) \
                .reshape(x.shape)
        results.append([y.numpy(), *gradients_of(y, x, att_t, att_v)])
    for applied, built, name in zip(*results, ('y', 'x', 'att_t', 'att_v')):
        np.testing.assert_allclose(applied, built, rtol=1e-5, atol=1e-5, err_msg=name)


def test_joint_attention_is_not_fused_where_gradients_are_wanted():
    x = leaf(random(1, 2, 4, 5))
    assert not fused_ops.joint_attention_fusable(x, nn.Swish())


def test_kernels_build_into_the_cache_and_can_be_switched_off(tmp_path):
    """In fresh processes: built from scratch into an empty cache folder; with
    EFFICIENTGCN_NO_C=1 not used: the backend is not installed and the plain model runs."""
    import os

    from helpers import run_python
    check = ('import paddle; from model import cpu_backend; from initializer import build_model; '
             'from utils.config import load_config; cfg = load_config("1001"); '
             'cfg["dataset_args"]["ntu"]["num_frame"] = 8; net = build_model(cfg)[0]; '
             'installed = cpu_backend.install(net); '
             'net.eval(); out = net(paddle.randn([1, 3, 6, 8, 25, 2]))[0]; '
             'print(installed, list(out.shape))')
    env = {**os.environ, 'EFFICIENTGCN_CACHE': str(tmp_path)}
    built = run_python('-c', check, env=env, timeout=300)
    if built.stdout.split()[:1] != ['True']:
        pytest.skip(f'the model kernels cannot be built here: {built.stderr[-300:]}')
    assert [p.name.split('-')[0] for p in tmp_path.iterdir()] == ['kernels']
    switched_off = run_python('-c', check, env={**env, 'EFFICIENTGCN_NO_C': '1'}, timeout=300)
    assert switched_off.stdout.split() == ['False', '[1,', '60]'], switched_off.stderr[-500:]
