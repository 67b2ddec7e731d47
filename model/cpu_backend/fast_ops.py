"""CPU-fast dygraph forms of a few operations the model uses everywhere.

Paddle's CPU reductions and broadcasts are several times slower than matrix products, and its
backward of a matmul or add with a broadcast operand sums the gradient with such a reduce. The
forms here compute the same values; their backwards (PyLayer) sum with matrix products, and
apply on the CPU in dygraph only, where they were measured.
"""
import paddle
from paddle.autograd import PyLayer

from . import native


def mean_of_rows(x):
    """x (..., L) -> (..., 1): the mean over the last axis as a matrix product; Paddle's CPU
    reduce is several times slower, forward and backward."""
    return paddle.matmul(x, paddle.full([x.shape[-1], 1], 1.0 / x.shape[-1], x.dtype))


def _on_cpu_in_dygraph(x):
    """Where the hand-written backwards below pay off (and were measured): GPU kernels reduce
    fast. (The backend's forms never run in a saved program: reparameterize removes them, and
    export installs its own.)"""
    return paddle.in_dynamic_mode() and x.place.is_cpu_place()


def shared_weight_matmul(weight, x):
    """(O, I) @ (N, I, L) -> (N, O, L): one weight for every sample. In dygraph its backward
    sums the weight's gradient over samples with a matrix product; Paddle's own uses a CPU
    reduce and is ~4x slower."""
    if _on_cpu_in_dygraph(x):
        return _SharedWeightMatmul.apply(weight, x)
    return paddle.matmul(weight, x)


def per_hop_matmul(x, adjacency):
    """(M, 1, T, V) @ (K, V, W) -> (M, K, T, W): the joints aggregated once per hop. In dygraph
    its backward is made of matrix products: Paddle 3.3's own fails (operands of different
    rank) or, with equal ranks, sums over the hops with a CPU reduce that makes it 2x slower."""
    if _on_cpu_in_dygraph(x):
        return _PerHopMatmul.apply(x, adjacency)
    return paddle.matmul(x, adjacency.unsqueeze(0))   # equal ranks, or Paddle 3.3's backward fails


def add_bias(x, bias):
    """(N, C, L) + (C, 1) or (C, L). In dygraph the bias gradient is summed with matrix
    products; Paddle's own CPU reduce makes the add 2x slower forward + backward."""
    if _on_cpu_in_dygraph(x):
        return _AddBias.apply(x, bias)
    return x + bias


class _AddBias(PyLayer):
    @staticmethod
    def forward(ctx, x, bias):
        ctx.bias_shape = bias.shape
        ctx.needs_grad = (not x.stop_gradient, not bias.stop_gradient)
        if native.usable(x, bias):   # on every core; Paddle's broadcast add uses one
            return native.affine_act(x, native.activation_code(None), shift=bias)
        return x + bias

    @staticmethod
    def backward(ctx, grad):
        grad_bias = None
        if ctx.needs_grad[1]:
            n, c, length = grad.shape
            per_sample = grad
            if ctx.bias_shape[1] == 1:   # sum over positions, then over samples
                per_sample = paddle.matmul(grad, paddle.ones([length, 1], grad.dtype))
            grad_bias = _sum_rows(per_sample.reshape([n, -1])).reshape(ctx.bias_shape)
        return (grad if ctx.needs_grad[0] else None), grad_bias


def shared_weight_gradient(grad, x, shape):
    """The gradient of a weight shared by every sample of (O, I) @ (N, I, L) -> (N, O, L):
    per sample grad @ x^T, summed over the samples with a matrix product."""
    per_sample = paddle.matmul(grad, x, transpose_y=True).reshape([grad.shape[0], -1])
    return _sum_rows(per_sample).reshape(shape)


def _sum_rows(x):
    """(R, L) -> (1, L), as a matrix product."""
    return paddle.matmul(paddle.ones([1, x.shape[0]], x.dtype), x)


class _Matmul(PyLayer):
    """matmul(a, b); subclasses give the backward, for the inputs that need a gradient."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ctx.needs_grad = (not a.stop_gradient, not b.stop_gradient)
        return paddle.matmul(a, b)


class _SharedWeightMatmul(_Matmul):
    @staticmethod
    def backward(ctx, grad):
        weight, x = ctx.saved_tensor()
        grad_weight = grad_x = None
        if ctx.needs_grad[0]:
            grad_weight = shared_weight_gradient(grad, x, weight.shape)
        if ctx.needs_grad[1]:
            grad_x = paddle.matmul(weight, grad, transpose_x=True)
        return grad_weight, grad_x


class _PerHopMatmul(_Matmul):
    @staticmethod
    def backward(ctx, grad):
        x, adjacency = ctx.saved_tensor()
        m, k, t, w = grad.shape
        v = adjacency.shape[1]
        grad_x = grad_adjacency = None
        if ctx.needs_grad[0]:   # grad @ A_k^T, summed over hops
            per_hop = paddle.matmul(grad, adjacency, transpose_y=True).reshape([m, k, t * v])
            grad_x = paddle.matmul(paddle.ones([1, k], grad.dtype), per_hop)
            grad_x = grad_x.reshape([m, 1, t, v])
        if ctx.needs_grad[1]:   # x^T @ grad per row, summed over rows
            per_row = paddle.matmul(x, grad, transpose_x=True).reshape([m, k * v * w])
            grad_adjacency = _sum_rows(per_row).reshape([k, v, w])
        return grad_x, grad_adjacency
