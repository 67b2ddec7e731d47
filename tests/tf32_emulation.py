"""A GPU with TensorFloat-32 on the CPU, for the tests of the decisions TF32 forces.

On Ampere and newer GPUs cuDNN (Paddle 3.3: FLAGS_cudnn_allow_tf32, on by default) and cuBLAS
(FLAGS_cublas_allow_tf32) round the float32 inputs of a convolution or matrix product to TF32,
a 10-bit mantissa, round-to-nearest with ties away from zero (the tensor cores' cvt.rna), and
accumulate in float32. `emulated_gpu(monkeypatch)` makes this process look like a CUDA build
with one GPU and rounds so:

- paddle.device.is_compiled_with_cuda() is True and cuda.device_count() is 1;
- paddle.set_device('gpu:N') is recorded (the work stays on the CPU) and paddle.get_device()
  returns it;
- paddle.set_flags / get_flags know the two TF32 flags (both on: the worst case, every
  convolution and matrix product rounded; Paddle 3.3 leaves the cuBLAS one off);
- while the recorded device is a GPU, the dygraph operations conv2d, depthwise_conv2d, matmul,
  einsum and linear round their inputs when their flag is on.

A program loaded with paddle.jit.load or run by Paddle Inference is not rounded: its operations
do not go through the Python functions patched here.
"""
import numpy as np
import paddle
from paddle import _C_ops

CONVOLUTIONS = ('conv2d', 'depthwise_conv2d')
PRODUCTS = ('matmul', 'einsum', 'linear')
FLAGS = {'FLAGS_cudnn_allow_tf32': CONVOLUTIONS, 'FLAGS_cublas_allow_tf32': PRODUCTS}


def round_to_tf32(array):
    """float32 values rounded to a 10-bit mantissa (13 low bits dropped), to nearest, ties away
    from zero; infinities and NaNs as they are."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    bits = array.view(np.uint32)
    rounded = ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)
    return np.where(np.isfinite(array), rounded, array)


def rounded(value):
    if isinstance(value, paddle.Tensor) and value.dtype == paddle.float32:
        out = paddle.to_tensor(round_to_tf32(value.numpy()))
        out.stop_gradient = value.stop_gradient
        return out
    if isinstance(value, (list, tuple)):   # einsum's operands
        return type(value)(rounded(v) for v in value)
    return value


class EmulatedGpu:
    """The state of the emulated CUDA build: its current device and its TF32 flags."""

    def __init__(self):
        self.device = 'cpu'
        self.flags = dict.fromkeys(FLAGS, True)
        self.rounded_calls = 0

    def rounds(self, flag):
        return self.device.startswith('gpu') and self.flags[flag]

    def wrap(self, operation, flag):
        def emulated(*args, **kwargs):
            if self.rounds(flag):
                self.rounded_calls += 1
                args = [rounded(a) for a in args]
            return operation(*args, **kwargs)
        return emulated


def emulated_gpu(monkeypatch, cublas_tf32=True):
    """Install the emulation for one test (monkeypatch undoes it); returns its EmulatedGpu."""
    gpu = EmulatedGpu()
    gpu.flags['FLAGS_cublas_allow_tf32'] = cublas_tf32
    real_set_device, real_get_flags, real_set_flags = (paddle.set_device, paddle.get_flags,
                                                       paddle.set_flags)

    def set_device(device):
        gpu.device = str(device)
        return real_set_device('cpu')

    def get_flags(names):
        names = [names] if isinstance(names, str) else list(names)
        known = {n: gpu.flags[n] for n in names if n in gpu.flags}
        others = [n for n in names if n not in gpu.flags]
        return {**known, **(real_get_flags(others) if others else {})}

    def set_flags(flags):
        for name, value in flags.items():
            if name in gpu.flags:
                gpu.flags[name] = bool(value)
        others = {n: v for n, v in flags.items() if n not in gpu.flags}
        if others:
            real_set_flags(others)

    for module in (paddle, paddle.device):
        monkeypatch.setattr(module, 'set_device', set_device)
        monkeypatch.setattr(module, 'get_device', lambda: gpu.device)
    monkeypatch.setattr(paddle, 'get_flags', get_flags)
    monkeypatch.setattr(paddle, 'set_flags', set_flags)
    monkeypatch.setattr(paddle.device, 'is_compiled_with_cuda', lambda: True)
    monkeypatch.setattr(paddle.device.cuda, 'device_count', lambda: 1)
    for flag, names in FLAGS.items():
        for name in names:
            monkeypatch.setattr(_C_ops, name, gpu.wrap(getattr(_C_ops, name), flag))
    return gpu
