"""How check_gpu compares a GPU's logits with the CPU's, with and without TensorFloat-32.

On Ampere and newer GPUs cuDNN rounds the float32 inputs of every convolution to TF32 (a 10-bit
mantissa) unless told not to: Paddle 3.3 has FLAGS_cudnn_allow_tf32 (on by default) and
FLAGS_cublas_allow_tf32 (off by default; Paddle PR 77781), and cuDNN and cuBLAS themselves obey
NVIDIA_TF32_OVERRIDE=0. Emulated on the CPU (tests/tf32_emulation.py), TF32 moves the published
X-sub model's logits on the 12 real NTU files by up to 1.8e-2, 7.5e-4 of their largest
magnitude (24), with every top-1 unchanged; one batch norm left out of the fold moves them by 5,
0.21 of it. So a comparison is one of:

- float32 (TF32 off on the GPU): every logit within TIGHT of the CPU's;
- TF32 (the GPU as it runs by default): every logit within TF32_RELATIVE (1e-2, 13x what TF32
  did, 1/20 of what a deleted batch norm did) of the CPU's largest |logit|, and the same top-1
  wherever the CPU's top-1 leads its runner-up by more than twice that (closer calls may
  legitimately swap).
"""
import os

import numpy as np

TIGHT = 1e-3
TF32_RELATIVE = 1e-2
TF32_FLAGS = ('FLAGS_cudnn_allow_tf32', 'FLAGS_cublas_allow_tf32')


def environment(tf32):
    """os.environ for a child process that runs on the GPU with TF32 allowed (as Paddle's
    defaults have it) or with it off everywhere: Paddle reads FLAGS_* from the environment when
    it loads, and cuDNN and cuBLAS read NVIDIA_TF32_OVERRIDE."""
    env = {k: v for k, v in os.environ.items()
           if k not in TF32_FLAGS and k != 'NVIDIA_TF32_OVERRIDE'}
    if not tf32:
        env.update({name: '0' for name in TF32_FLAGS}, NVIDIA_TF32_OVERRIDE='0')
    return env


def set_tf32(allowed):
    """Paddle's TF32 switches in this process, those this build has (3.3 and newer CUDA
    builds); returns the names it set."""
    import paddle
    done = []
    for name in TF32_FLAGS:
        try:
            paddle.set_flags({name: allowed})
        except (ValueError, RuntimeError):   # a CPU build, or a Paddle before 3.3
            continue
        done.append(name)
    return done


def judge(got, reference, tf32):
    """(passed, words): got's logits against reference's (sample -> logits, or two arrays of
    rows), as float32 (TIGHT) or as TF32 (TF32_RELATIVE of the largest |logit|, and top-1)."""
    if isinstance(reference, dict):
        names = sorted(reference)
        got, reference = (np.array([d[n] for n in names]) for d in (got, reference))
    got, reference = np.asarray(got, np.float64), np.asarray(reference, np.float64)
    difference = float(np.abs(got - reference).max())
    if not tf32:
        return difference <= TIGHT, (f'max difference {difference:.1e}, tolerance {TIGHT} '
                                     f'(float32, TF32 off)')
    allowed = TF32_RELATIVE * float(np.abs(reference).max())
    ordered = np.sort(reference, axis=1)
    clear = ordered[:, -1] - ordered[:, -2] > 2 * allowed
    same = got.argmax(axis=1) == reference.argmax(axis=1)
    passed = difference <= allowed and bool(same[clear].all())
    return passed, (f'max difference {difference:.1e}, allowed {allowed:.1e} ({TF32_RELATIVE} of '
                    f'the largest |logit|, TF32); same top-1 on {int(same[clear].sum())}/'
                    f'{int(clear.sum())} clear samples')
