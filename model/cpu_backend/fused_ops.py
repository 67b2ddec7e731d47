"""Operations the C kernels (kernels.c) run on the CPU in dygraph: a layer's epilogue in
one pass, act(x + shift + residual) in eval and act(BN(x) + residual) in training, on (N, C, L)
maps, with the joint attention's multiply folded in; the joint attention in training, its
map never built; the two temporal convolutions, depthwise and full; and the input's split into
bodies.

Paddle runs the bias add, batch norm, residual add and activation as separate single-threaded
CPU passes (over half of a B0 training step), and its depthwise convolution on one thread too.
Elsewhere (GPU, no C compiler) Paddle's operations compute the same values.
"""
import numpy as np
import paddle
from paddle.autograd import PyLayer

from . import native
from .fast_ops import add_bias, shared_weight_gradient


def epilogue(x, act=None, shift=None, residual=None, scale=None):
    """act(x * scale + shift + residual): x (N, C, L), scale (C,), shift (C, 1) or (C, L) (a
    bias, or a folded BatchNorm's shift), residual like x; act None for none. Fused when nothing
    needs a gradient (the eval pass); with gradients, Paddle's operations."""
    if act is None and shift is None and residual is None and scale is None:
        return x
    code = native.activation_code(act)
    if code is not None and not _needs_grad(x, shift, residual, scale) \
            and native.usable(x, shift, residual, scale):
        return native.affine_act(x, code, scale, shift, residual)
    y = x if scale is None else x * scale.reshape([-1, 1])
    y = y if shift is None else add_bias(y, shift)
    if residual is not None:
        y = y + residual
    return y if act is None else act(y)


def batch_norm_act(x, bn, act=None, residual=None, input_bias=None):
    """Training mode: act(bn(x + input_bias) + residual), x (N, C, L), input_bias (C,) or None.

    input_bias is the bias of the conv before bn: the batch statistics cancel it from the
    output, and its exact gradient is zero, so the fused form adds it to the running mean only
    (Paddle's own ops compute the same up to rounding)."""
    code = native.activation_code(act)
    if code is not None and bn.weight is not None and bn.bias is not None \
            and native.usable(x, residual, bn.weight):
        return _BatchNormAct.apply(x, bn.weight, bn.bias, residual, input_bias, bn, code)
    if input_bias is not None:
        x = add_bias(x, input_bias.reshape([-1, 1]))
    n, c, length = x.shape
    y = bn(x.reshape([n, c, length, 1])).reshape([n, c, length])
    if residual is not None:
        y = y + residual
    return y if act is None else act(y)


def depthwise_temporal_conv(x, weight, stride, pad):
    """F.conv2d(x, weight, stride=(stride, 1), padding=(pad, 0), groups=C) for a (k, 1) weight
    (C, 1, k, 1), without bias."""
    if native.usable(x, weight):
        return _DepthwiseTemporalConv.apply(x, weight, stride, pad)
    return paddle.nn.functional.conv2d(x, weight, None, (stride, 1), (pad, 0),
                                       groups=x.shape[1])


def temporal_conv(x, weight, pad):
    """F.conv2d(x, weight, padding=(pad, 0)) for a (k, 1) weight (O, C, k, 1), stride 1, 'same'
    padding, no bias. As one matrix product over the k frame-shifted copies of x: Paddle's CPU
    conv2d builds the same copies on one thread and multiplies at a third of the rate."""
    if not native.usable(x, weight):
        return paddle.nn.functional.conv2d(x, weight, None, 1, (pad, 0))
    out_channels, in_channels, taps = weight.shape[:3]
    # copy j of x is shifted by j - pad frames, so the taps run backwards
    weight = paddle.flip(weight, axis=2).transpose([0, 2, 1, 3])
    return _TemporalConv.apply(x, weight.reshape([out_channels, taps * in_channels]), taps, pad)


def joint_attention_fusable(x, act):
    """Whether joint_attention_epilogue can run: eval without gradients, on the C kernels."""
    return native.activation_code(act) is not None and not _needs_grad(x) \
        and native.usable(x)


def joint_attention_epilogue(x, att_t, att_v, scale, shift, act):
    """act(x * (att_t ⊗ att_v) * scale + shift + x), the attention layer in eval with its
    BatchNorm folded: x (N, C, T, V), att_t (N, C, T, 1), att_v (N, C, V, 1), scale and shift
    (C,). One pass; the (N, C, T, V) attention map is never built. Check
    joint_attention_fusable first."""
    return native.attention_epilogue(x, att_t, att_v, scale, shift,
                                     native.activation_code(act))


def joint_attention_usable(x):
    """Whether apply_joint_attention can run: on the CPU in dygraph, with the C kernels."""
    return native.usable(x)


def apply_joint_attention(x, att_t, att_v):
    """x * (att_t ⊗ att_v), with gradients: x (N, C, T, V), att_t (N, C, T, 1), att_v (N, C, V,
    1). One pass forward and one backward on every core, the attention map never built;
    Paddle builds it with a matrix product and multiplies on one thread. Check
    joint_attention_usable first."""
    return _JointAttention.apply(x, att_t, att_v)


def split_bodies(x):
    """The model's input (N, I, C, T, V, M) as (I, N * M, C, T, V): one map per input branch
    and body. Paddle's CPU transpose copies it on one thread, 5% of an eval pass."""
    if not _needs_grad(x) and native.usable(x):
        return native.split_bodies(x)
    n, i, c, t, v, m = x.shape
    return x.transpose([1, 0, 5, 2, 3, 4]).reshape([i, n * m, c, t, v])


def _needs_grad(*tensors):
    return paddle.is_grad_enabled() and any(t is not None and not t.stop_gradient
                                            for t in tensors)


class _BatchNormAct(PyLayer):
    @staticmethod
    def forward(ctx, x, gamma, beta, residual, input_bias, bn, code):
        mean, variance = native.channel_moments(x)
        _update_running_statistics(bn, mean, variance, input_bias)
        inv_std = 1.0 / np.sqrt(variance + bn._epsilon)
        gamma_value = gamma.numpy().astype(np.float64)
        scale = gamma_value * inv_std
        shift = beta.numpy() - mean * scale
        out = native.affine_act(x, code, _tensor(scale), _tensor(shift), residual)
        # the backward recomputes the value before the activation from these
        ctx.save_for_backward(x, residual)
        ctx.statistics = scale, shift, mean, inv_std, gamma_value, code
        ctx.tensor_inputs = [t is not None for t in (residual, input_bias)]
        ctx.needs_grad = [t is not None and not t.stop_gradient
                          for t in (x, gamma, beta, residual, input_bias)]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, residual = ctx.saved_tensor()
        grad_x, grad_pre, grad_gamma, grad_beta = native.batch_norm_backward(
            grad_out, x, residual, *ctx.statistics)
        grads = [grad_x, _tensor(grad_gamma), _tensor(grad_beta), grad_pre, None]
        if ctx.needs_grad[4]:
            grads[4] = paddle.zeros([x.shape[1]], x.dtype)
        grads = [g if needed else None for g, needed in zip(grads, ctx.needs_grad)]
        # one gradient per tensor input: residual and input_bias only when they were given
        return tuple(grads[:3]) + tuple(g for g, given in zip(grads[3:], ctx.tensor_inputs)
                                        if given)


class _DepthwiseTemporalConv(PyLayer):
    @staticmethod
    def forward(ctx, x, weight, stride, pad):
        ctx.save_for_backward(x, weight)
        ctx.geometry = stride, pad
        ctx.needs_grad = not x.stop_gradient, not weight.stop_gradient
        return native.depthwise_temporal(x, weight, stride, pad)

    @staticmethod
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensor()
        return native.depthwise_temporal_backward(grad_y, x, weight, *ctx.geometry,
                                                  *ctx.needs_grad)


class _TemporalConv(PyLayer):
    """y = weight (O, k C) @ shifts(x) (N, k C, T V). Its backward multiplies the shifted
    copies of the gradient by a (C, k O) matrix rather than building weight^T @ grad, a k times
    larger product that runs at half the rate, and builds the copies of x again rather than
    keeping them (k times the input's memory)."""

    @staticmethod
    def forward(ctx, x, weight, taps, pad):
        ctx.save_for_backward(x, weight)
        ctx.geometry = taps, pad
        ctx.needs_grad = not x.stop_gradient, not weight.stop_gradient
        return _multiply_shifts(weight, x, taps, pad)

    @staticmethod
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensor()
        taps, pad = ctx.geometry
        n, out_channels, in_channels = grad_y.shape[0], grad_y.shape[1], x.shape[1]
        grad_x = grad_weight = None
        if ctx.needs_grad[0]:   # the adjoint: shifted copies of grad_y, taps the other way
            adjoint = weight.reshape([out_channels, taps, in_channels]).flip(axis=1)
            adjoint = adjoint.transpose([2, 1, 0]).reshape([in_channels, taps * out_channels])
            grad_x = _multiply_shifts(adjoint, grad_y, taps, pad)
        if ctx.needs_grad[1]:   # the weight is shared by every sample of shifts(x)
            shifted = native.frame_shifts(x, taps, pad)
            grad_weight = shared_weight_gradient(grad_y.reshape([n, out_channels, -1]),
                                                 shifted.reshape([n, taps * in_channels, -1]),
                                                 weight.shape)
        return grad_x, grad_weight


class _JointAttention(PyLayer):
    @staticmethod
    def forward(ctx, x, att_t, att_v):
        ctx.save_for_backward(x, att_t, att_v)
        ctx.needs_grad = [not t.stop_gradient for t in (x, att_t, att_v)]
        return native.joint_attention(x, att_t, att_v)

    @staticmethod
    def backward(ctx, grad):
        grads = native.joint_attention_backward(grad, *ctx.saved_tensor())
        return tuple(g if needed else None for g, needed in zip(grads, ctx.needs_grad))


def _multiply_shifts(matrix, x, taps, pad):
    """matrix (O, k C) @ the k frame-shifted copies of x (N, C, T, V) -> (N, O, T, V)."""
    n, channels, frames, joints = x.shape
    shifted = native.frame_shifts(x, taps, pad)
    y = paddle.matmul(matrix, shifted.reshape([n, taps * channels, frames * joints]))
    return y.reshape([n, matrix.shape[0], frames, joints])


def _update_running_statistics(bn, mean, variance, input_bias):
    """Paddle's rule: running = momentum * running + (1 - momentum) * batch (biased var)."""
    if input_bias is not None:
        mean = mean + input_bias.numpy()
    momentum = bn._momentum
    bn._mean.set_value(
        (momentum * bn._mean.numpy() + (1 - momentum) * mean).astype(np.float32))
    bn._variance.set_value(
        (momentum * bn._variance.numpy() + (1 - momentum) * variance).astype(np.float32))


def _tensor(values):
    return paddle.to_tensor(np.ascontiguousarray(values, np.float32))
