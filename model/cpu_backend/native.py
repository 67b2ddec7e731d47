"""The fused CPU kernels of kernels.c on Paddle tensors: built once per machine with the system
C compiler (like the reader's scanner), called through ctypes on the tensors' memory.

Optional: `available()` is False without a compiler or with EFFICIENTGCN_NO_C=1, and the model
then runs Paddle's own operations (the same values, slower on the CPU). Callers check
`usable(...)` first: CPU float32 tensors in dygraph only.
"""
import ctypes
import functools
import os
from pathlib import Path

import numpy as np
import paddle

from utils.c_build import optional_c_library
from model.activations import ACTIVATIONS

SOURCE = Path(__file__).with_name('kernels.c')
# The activations kernels.c implements, by their act_type name (model/activations.py). Their
# codes are given here only: the build passes each as -DACT_<NAME>=code. An activation not
# listed runs Paddle's own operations (install() says so).
KERNEL_ACTIVATIONS = ('relu', 'relu6', 'hswish', 'swish')
_CODES = {ACTIVATIONS[name]: code for code, name in enumerate(KERNEL_ACTIVATIONS, 1)}
FLAGS = ('-O3', '-fno-math-errno', '-fno-trapping-math', '-pthread') + tuple(
    f'-DACT_{name.upper()}={code}' for code, name in enumerate(KERNEL_ACTIVATIONS, 1))

_pointer, _long, _int = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_SIGNATURES = {
    'affine_act': [_pointer] * 3 + [_int] + [_pointer] * 2 + [_long] * 3 + [_int] * 2,
    'channel_moments': [_pointer] + [_long] * 3 + [_pointer] * 2 + [_int],
    'batch_norm_backward_sums': [_pointer] * 7 + [_long] * 3 + [_int] + [_pointer] * 2 + [_int],
    'batch_norm_backward_apply': [_pointer] * 7 + [_long] * 3 + [_int],
    'depthwise_temporal': [_pointer] * 3 + [_long] * 8 + [_int],
    'depthwise_temporal_backward': [_pointer] * 5 + [_long] * 8 + [_int],
    'frame_shifts': [_pointer] * 2 + [_long] * 6 + [_int],
    'split_bodies': [_pointer] * 2 + [_long] * 5 + [_int],
    'attention_epilogue': [_pointer] * 6 + [_long] * 4 + [_int] * 2,
    'joint_attention': [_pointer] * 4 + [_long] * 3 + [_int],
    'joint_attention_backward': [_pointer] * 7 + [_long] * 3 + [_int],
}


@functools.lru_cache(maxsize=None)
def _library():
    library = optional_c_library(
        SOURCE, FLAGS, missing="using Paddle's operations, which are slower on the CPU")
    if library is None:
        return None
    for name, argtypes in _SIGNATURES.items():
        getattr(library, name).argtypes = argtypes
        getattr(library, name).restype = None
    return library


def available():
    return _library() is not None


def usable(*tensors):
    """Whether the kernels can take these tensors (None ignored): CPU float32, in dygraph."""
    if not paddle.in_dynamic_mode() or not available():
        return False
    return all(t is None or (t.place.is_cpu_place() and t.dtype == paddle.float32)
               for t in tensors)


def activation_code(act):
    """The kernels' code for an activation layer (None: identity, 0), or None if they lack it."""
    return 0 if act is None else _CODES.get(type(act))


def threads():
    """The cores Paddle's own CPU kernels were given (runtime.set_cpu_threads)."""
    try:
        return max(1, int(os.environ.get('OMP_NUM_THREADS', '')))
    except ValueError:
        return os.cpu_count() or 1


def _address(tensor):
    return None if tensor is None else tensor.data_ptr()


def _contiguous(*tensors):
    return [t if t is None or t.is_contiguous() else t.contiguous() for t in tensors]


def affine_act(x, act_code, scale=None, shift=None, residual=None):
    """x (N, C, L) -> act(x * scale[c] + shift + residual), shift (C,) or (C, L)."""
    x, scale, shift, residual = _contiguous(x, scale, shift, residual)
    n, c, length = x.shape
    out = paddle.empty_like(x)
    per_position = shift is not None and shift.ndim == 2 and shift.shape[1] == length
    _library().affine_act(_address(x), _address(scale), _address(shift), int(per_position),
                          _address(residual), _address(out), n, c, length, act_code, threads())
    return out


def channel_moments(x):
    """x (N, C, L) -> per channel (mean, biased variance), float64 numpy arrays."""
    (x,) = _contiguous(x)
    n, c, length = x.shape
    mean, variance = np.empty(c), np.empty(c)
    _library().channel_moments(_address(x), n, c, length, mean.ctypes.data,
                               variance.ctypes.data, threads())
    return mean, variance


def batch_norm_backward(grad_out, x, residual, scale, shift, mean, inv_std, gamma, act_code):
    """Backward of out = act(x * scale + shift + residual), the batch norm with batch
    statistics: scale = gamma * inv_std, shift = beta - mean * scale; x (N, C, L), residual
    like x or None. Per-channel values are numpy (C,). Returns (grad_x, grad_pre (= the
    residual's gradient), grad_gamma, grad_beta), the last two float32 numpy."""
    grad_out, x, residual = _contiguous(grad_out, x, residual)
    n, c, length = x.shape
    per_channel = [np.ascontiguousarray(v, np.float32) for v in (scale, shift, mean)]
    grad_pre = paddle.empty_like(x)
    total, centered = np.empty(c), np.empty(c)
    library = _library()
    library.batch_norm_backward_sums(
        _address(grad_out), _address(x), _address(residual),
        *(v.ctypes.data for v in per_channel), _address(grad_pre), n, c, length, act_code,
        total.ctypes.data, centered.ctypes.data, threads())
    count = n * length
    gain = np.ascontiguousarray(gamma * inv_std, np.float32)
    offset = np.ascontiguousarray(total / count, np.float32)
    slope = np.ascontiguousarray(inv_std * inv_std * centered / count, np.float32)
    grad_x = paddle.empty_like(x)
    library.batch_norm_backward_apply(
        _address(grad_pre), _address(x), per_channel[2].ctypes.data, gain.ctypes.data,
        offset.ctypes.data, slope.ctypes.data, _address(grad_x), n, c, length, threads())
    return grad_x, grad_pre, (centered * inv_std).astype(np.float32), total.astype(np.float32)


def depthwise_temporal(x, weight, stride, pad):
    """Depthwise k x 1 convolution over frames: x (N, C, T, V), weight (C, 1, k, 1) -> (N, C,
    T', V), T' = (T + 2 pad - k) // stride + 1; no bias."""
    x, weight = _contiguous(x, weight)
    n, c, frames, joints = x.shape
    taps = weight.shape[2]
    frames_out = (frames + 2 * pad - taps) // stride + 1
    y = paddle.empty([n, c, frames_out, joints], x.dtype)
    _library().depthwise_temporal(_address(x), _address(weight), _address(y), n, c, frames,
                                  joints, taps, stride, pad, frames_out, threads())
    return y


def depthwise_temporal_backward(grad_y, x, weight, stride, pad, need_x=True, need_weight=True):
    """(grad_x or None, grad_weight or None) of depthwise_temporal."""
    grad_y, x, weight = _contiguous(grad_y, x, weight)
    n, c, frames, joints = x.shape
    grad_x = paddle.empty_like(x) if need_x else None
    grad_weight = paddle.empty_like(weight) if need_weight else None
    _library().depthwise_temporal_backward(
        _address(grad_y), _address(x), _address(weight), _address(grad_x),
        _address(grad_weight), n, c, frames, joints, weight.shape[2], stride, pad,
        grad_y.shape[2], threads())
    return grad_x, grad_weight


def frame_shifts(x, taps, pad):
    """x (N, C, T, V) -> (N, taps * C, T, V): copy j is x shifted by j - pad frames (frame t of
    the copy is frame t - (j - pad) of x), zero outside the frames."""
    (x,) = _contiguous(x)
    n, channels, frames, joints = x.shape
    copies = paddle.empty([n, taps * channels, frames, joints], x.dtype)
    _library().frame_shifts(_address(x), _address(copies), n, channels, taps, frames, joints,
                            pad, threads())
    return copies


def split_bodies(x):
    """x (N, I, C, T, V, M) -> (I, N * M, C, T, V), as x.transpose([1, 0, 5, 2, 3, 4])."""
    (x,) = _contiguous(x)
    n, inputs, channels, frames, joints, bodies = x.shape
    out = paddle.empty([inputs, n * bodies, channels, frames, joints], x.dtype)
    _library().split_bodies(_address(x), _address(out), n, inputs, channels, frames * joints,
                            bodies, threads())
    return out


def attention_epilogue(x, att_t, att_v, scale, shift, act_code):
    """act(x * att_t[t] * att_v[v] * scale[c] + shift[c] + x): x (N, C, T, V), att_t (N, C, T),
    att_v (N, C, V), scale and shift (C,)."""
    x, att_t, att_v, scale, shift = _contiguous(x, att_t, att_v, scale, shift)
    n, c, frames, joints = x.shape
    out = paddle.empty_like(x)
    _library().attention_epilogue(_address(x), _address(att_t), _address(att_v),
                                  _address(scale), _address(shift), _address(out), n, c,
                                  frames, joints, act_code, threads())
    return out


def joint_attention(x, att_t, att_v):
    """x * att_t[t] * att_v[v]: x (N, C, T, V), att_t (N, C, T, 1), att_v (N, C, V, 1)."""
    x, att_t, att_v = _contiguous(x, att_t, att_v)
    n, c, frames, joints = x.shape
    out = paddle.empty_like(x)
    _library().joint_attention(_address(x), _address(att_t), _address(att_v), _address(out),
                               n * c, frames, joints, threads())
    return out


def joint_attention_backward(grad, x, att_t, att_v):
    """(grad_x, grad_att_t, grad_att_v) of joint_attention, each shaped like its input."""
    grad, x, att_t, att_v = _contiguous(grad, x, att_t, att_v)
    n, c, frames, joints = x.shape
    grads = [paddle.empty_like(t) for t in (x, att_t, att_v)]
    _library().joint_attention_backward(_address(grad), _address(x), _address(att_t),
                                        _address(att_v), *map(_address, grads), n * c, frames,
                                        joints, threads())
    return grads
