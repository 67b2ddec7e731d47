"""The J/V/B input builder shared by training (feeder) and deployment (infer.py).

A sample is (C=3, T, V, M): x y z (keypoint_dim 3), or for 2D poses x y and the keypoint score
(keypoint_dim 2); the result is (I, 6, T, V, M), one 6-channel block per letter of `inputs`, in
the letters' order. Each block is two triples, the paper's for 3D:

    J  x y z, and x y z relative to the centre joint
    V  x[t+1] - x[t], and x[t+2] - x[t]
    B  the bone x - x[parent], and its angle with each axis, arccos(bone / |bone|)

For 2D poses the score is a confidence, never a coordinate (as pyskl's and mmaction2's
JointToBone and ToMotion treat it): it takes the place of z in each triple, as the joint's score
in J, the mean of the two frames' scores in V and the mean of the bone's two joints' scores in
B; differences, bone lengths and angles are of x and y alone.

Numpy only: each block is written in place into one preallocated array (the feeder builds one
sample per training step, so copies count).
"""
import numpy as np

BONE_EPS = 1e-4
KEYPOINT_DIMS = (2, 3)
SCORE = 2   # the channel that holds the keypoint score in a 2D sample


def joint_features(data, center=1, out=None, keypoint_dim=3):
    """The coordinates and the coordinates relative to the layout's centre joint (Graph.center:
    joint 1, the spine middle, for NTU); for 2D the score in both triples."""
    out = _block(data, out)
    out[:3] = data
    # A gather then a plain subtract: broadcasting over V with M=2 innermost is 4x slower.
    origin = np.take(data, np.full(data.shape[2], center, dtype=np.intp), axis=2)
    np.subtract(data, origin, out=out[3:])
    if keypoint_dim == 2:
        out[3 + SCORE] = data[SCORE]
    return out


def velocity_features(data, out=None, keypoint_dim=3):
    """x[t+1]-x[t] and x[t+2]-x[t] for t < T-2; both zero for the last two frames (as the official feeder).
    For 2D the score of each difference is the mean of its two frames' scores."""
    out = _block(data, out)
    T = data.shape[1]
    for half, step in ((out[:3], 1), (out[3:], 2)):
        np.subtract(data[:, step:T - 2 + step], data[:, :T - 2], out=half[:, :T - 2])
        if keypoint_dim == 2:
            _mean(data[SCORE, step:T - 2 + step], data[SCORE, :T - 2], half[SCORE, :T - 2])
    out[:, max(T - 2, 0):] = 0
    return out


def bone_features(data, connect_joint, out=None, keypoint_dim=3):
    """Bone vectors x - x[connect_joint] and their per-axis angles arccos(bone / (|bone| + eps)).
    For 2D the length and angles are of x and y, and the score of a bone is the mean of its two
    joints' scores, in both triples."""
    out = _block(data, out)
    bone, angle = out[:3], out[3:]
    parent = np.take(data, connect_joint, axis=2)
    np.subtract(data, parent, out=bone)
    if keypoint_dim == 2:
        _mean(data[SCORE], parent[SCORE], bone[SCORE])
    vector = bone[:keypoint_dim]
    length = np.sqrt(np.einsum('ctvm,ctvm->tvm', vector, vector)) + BONE_EPS
    np.divide(vector, length, out=angle[:keypoint_dim])
    np.arccos(angle[:keypoint_dim], out=angle[:keypoint_dim])
    if keypoint_dim == 2:
        angle[SCORE] = bone[SCORE]
    return out


def _mean(a, b, out):
    np.add(a, b, out=out)
    out *= 0.5


def _block(data, out):
    if out is None:
        out = np.empty((2 * data.shape[0],) + data.shape[1:], dtype=np.float32)
    return out


def build_inputs(data, inputs, connect_joint, center=1, keypoint_dim=3):
    """(C, T, V, M) -> (len(inputs), 2C, T, V, M) float32; keypoint_dim 2 when the sample is
    x y and the keypoint score."""
    if keypoint_dim not in KEYPOINT_DIMS:
        raise ValueError(f'keypoint_dim must be 2 or 3, got {keypoint_dim!r}')
    data = np.asarray(data, dtype=np.float32)
    builders = {
        'J': lambda d, out: joint_features(d, center, out, keypoint_dim),
        'V': lambda d, out: velocity_features(d, out, keypoint_dim),
        'B': lambda d, out: bone_features(d, connect_joint, out, keypoint_dim),
    }
    unknown = set(inputs) - set(builders)
    if unknown:
        raise ValueError(f'unknown input kind {sorted(unknown)[0]!r}; use letters of J, V, B')
    result = np.empty((len(inputs), 2 * data.shape[0]) + data.shape[1:], dtype=np.float32)
    for block, kind in zip(result, inputs):
        builders[kind](data, block)
    return result
