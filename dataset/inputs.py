"""The J/V/B input builder shared by training (feeder) and deployment (infer.py).

A sample is (C=3, T, V, M): x y z, or for 2D poses x y and the keypoint score; the result is
(I, 6, T, V, M), one 6-channel block per letter of `inputs`, in the letters' order. Numpy only:
each block is written in place into one preallocated array (the feeder builds one sample per
training step, so copies count).
"""
import numpy as np

BONE_EPS = 1e-4


def joint_features(data, center=1, out=None):
    """The coordinates and the coordinates relative to the layout's centre joint (Graph.center:
    joint 1, the spine middle, for NTU)."""
    out = _block(data, out)
    out[:3] = data
    # A gather then a plain subtract: broadcasting over V with M=2 innermost is 4x slower.
    origin = np.take(data, np.full(data.shape[2], center, dtype=np.intp), axis=2)
    np.subtract(data, origin, out=out[3:])
    return out


def velocity_features(data, out=None):
    """x[t+1]-x[t] and x[t+2]-x[t] for t < T-2; both zero for the last two frames (as the seed)."""
    out = _block(data, out)
    T = data.shape[1]
    np.subtract(data[:, 1:T - 1], data[:, :T - 2], out=out[:3, :T - 2])
    np.subtract(data[:, 2:], data[:, :T - 2], out=out[3:, :T - 2])
    out[:, max(T - 2, 0):] = 0
    return out


def bone_features(data, connect_joint, out=None):
    """Bone vectors x - x[connect_joint] and their per-axis angles arccos(bone / (|bone| + eps))."""
    out = _block(data, out)
    bone, angle = out[:3], out[3:]
    np.subtract(data, np.take(data, connect_joint, axis=2), out=bone)
    length = np.sqrt(np.einsum('ctvm,ctvm->tvm', bone, bone)) + BONE_EPS
    np.divide(bone, length, out=angle)
    np.arccos(angle, out=angle)
    return out


def _block(data, out):
    if out is None:
        out = np.empty((2 * data.shape[0],) + data.shape[1:], dtype=np.float32)
    return out


def build_inputs(data, inputs, connect_joint, center=1):
    """(C, T, V, M) -> (len(inputs), 2C, T, V, M) float32."""
    data = np.asarray(data, dtype=np.float32)
    builders = {
        'J': lambda d, out: joint_features(d, center, out),
        'V': velocity_features,
        'B': lambda d, out: bone_features(d, connect_joint, out),
    }
    unknown = set(inputs) - set(builders)
    if unknown:
        raise ValueError(f'unknown input kind {sorted(unknown)[0]!r}; use letters of J, V, B')
    result = np.empty((len(inputs), 2 * data.shape[0]) + data.shape[1:], dtype=np.float32)
    for block, kind in zip(result, inputs):
        builders[kind](data, block)
    return result
