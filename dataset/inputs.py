"""The J/V/B input builder shared by training (feeder) and deployment (infer.py).

A sample is (C=3, T, V, M) xyz; the result is (I, 6, T, V, M), one 6-channel block per
letter of `inputs`, in the letters' order. Numpy only, vectorised over all joints.
"""
import numpy as np

BONE_EPS = 1e-4


def joint_features(data):
    """xyz and xyz relative to joint 1 (the spine middle)."""
    return np.concatenate([data, data - data[:, :, 1:2, :]], axis=0)


def velocity_features(data):
    """x[t+1]-x[t] and x[t+2]-x[t] for t < T-2; both zero for the last two frames (as the seed)."""
    velocity = np.zeros((2 * data.shape[0],) + data.shape[1:], dtype=data.dtype)
    T, C = data.shape[1], data.shape[0]
    if T > 2:
        velocity[:C, :T - 2] = data[:, 1:T - 1] - data[:, :T - 2]
        velocity[C:, :T - 2] = data[:, 2:] - data[:, :T - 2]
    return velocity


def bone_features(data, connect_joint):
    """Bone vectors x - x[connect_joint] and their per-axis angles arccos(bone / (|bone| + eps))."""
    bone = data - data[:, :, connect_joint, :]
    length = np.sqrt((bone ** 2).sum(axis=0, keepdims=True)) + BONE_EPS
    return np.concatenate([bone, np.arccos(bone / length)], axis=0)


def build_inputs(data, inputs, connect_joint):
    """(C, T, V, M) -> (len(inputs), 2C, T, V, M) float32."""
    data = np.asarray(data, dtype=np.float32)
    builders = {
        'J': joint_features,
        'V': velocity_features,
        'B': lambda d: bone_features(d, connect_joint),
    }
    unknown = set(inputs) - set(builders)
    if unknown:
        raise ValueError(f'unknown input kind {sorted(unknown)[0]!r}; use letters of J, V, B')
    return np.stack([builders[kind](data) for kind in inputs]).astype(np.float32, copy=False)
