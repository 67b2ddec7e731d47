"""The X-view pre-normalisation of 2s-AGCN, on one sample in the model layout (C, T, V, M).

In order: (1) pad each body's null frames, (2) centre on joint 1 of body 0, (3) rotate body 0's
joint 0 -> 1 vector of frame 0 onto +z, (4) rotate its joint 4 -> 8 vector of frame 0 onto +x.
A frame or joint is empty when all its coordinates are zero.

Each step is a few whole-array numpy operations; the only Python loop is over the (two) bodies
when padding. The coordinate axis comes first, so a rotation is one (3 x 3) @ (3 x T*V*M)
product.
"""
import math

import numpy as np

Z_AXIS = (0.0, 0.0, 1.0)
X_AXIS = (1.0, 0.0, 0.0)
_TINY = 1e-6   # vectors and angles below this are treated as zero: no rotation


def pre_normalise(sample):
    """(C=3, T, V, M) float32 -> a new, pre-normalised (C, T, V, M) float32 array."""
    sample = np.array(sample, dtype=np.float32)
    pre_normalise_in_place(sample)
    return sample


def pre_normalise_in_place(sample):
    """The pre-normalisation of a (C, T, V, M) float32 array, in place."""
    joints_present = sample.any(axis=0)                                  # T, V, M
    pad_null_frames(sample, joints_present)
    centre(sample, joints_present)
    align(sample, 0, 1, Z_AXIS)
    align(sample, 4, 8, X_AXIS)


def pad_null_frames(sample, joints_present):
    """A body whose first frame is empty has its frames moved to the front; then the empty
    frames after its last frame repeat its frames from the start. In place on (C, T, V, M) and
    on its (T, V, M) joint mask."""
    # Per body and frame (M, T); reducing a contiguous copy is ~8x faster than over axis 1.
    frames_present = np.ascontiguousarray(joints_present.transpose(2, 0, 1)).any(axis=2)
    num_frames = sample.shape[1]
    for body, present in enumerate(frames_present):
        if not present.any():
            continue
        if not present[0]:
            order = np.flatnonzero(present)
            for array in (sample[..., body], joints_present[..., body]):   # (C,) T, V
                array[..., :len(order), :] = array[..., order, :]
                array[..., len(order):, :] = 0
            present = np.arange(num_frames) < len(order)
        end = np.flatnonzero(present)[-1] + 1
        for array in (sample[..., body], joints_present[..., body]):
            _repeat_frames(array, end)


def _repeat_frames(array, period):
    """Fill frames period.. of a (..., T, V) array by repeating its first `period` frames,
    copying ever larger blocks (slice copies are much faster than a gather)."""
    filled, num_frames = period, array.shape[-2]
    while filled < num_frames:    # array[..., :filled, :] repeats with the period
        count = min(filled, num_frames - filled)
        array[..., filled:filled + count, :] = array[..., :count, :]
        filled += count


def centre(sample, joints_present):
    """Subtract, frame by frame, joint 1 of body 0 from every joint; empty joints (hence empty
    bodies) stay zero. In place on (C, T, V, M) given its (T, V, M) joint mask."""
    sample -= sample[:, :, 1:2, 0:1]
    sample *= joints_present


def align(sample, start, end, axis):
    """Rotate all joints so that the vector from joint `start` to joint `end` of body 0 in
    frame 0 points along `axis`; zero joints stay zero. In place on (C, T, V, M)."""
    vector = [float(b) - float(a) for a, b in zip(sample[:, 0, start, 0], sample[:, 0, end, 0])]
    matrix = rotation_matrix(_cross(vector, axis), angle_between(vector, axis))
    rotated = matrix.astype(np.float32) @ sample.reshape(3, -1)   # float32: the data's precision
    sample[:] = rotated.reshape(sample.shape)


def _cross(u, v):
    return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])


def _norm(u):
    return math.sqrt(sum(x * x for x in u))


def angle_between(u, v):
    """Angle in radians between two 3-vectors; 0 if either is (nearly) zero."""
    if sum(map(abs, u)) < _TINY or sum(map(abs, v)) < _TINY:
        return 0.0
    cosine = sum(a * b for a, b in zip(u, v)) / (_norm(u) * _norm(v))
    return math.acos(min(1.0, max(-1.0, cosine)))


def rotation_matrix(axis, angle):
    """Right-handed rotation by `angle` about `axis` (Rodrigues); identity when either is ~0."""
    if sum(map(abs, axis)) < _TINY or abs(angle) < _TINY:
        return np.eye(3)
    x, y, z = (a / _norm(axis) for a in axis)
    c, s = math.cos(angle), math.sin(angle)
    t = 1 - c
    return np.array([[c + t * x * x, t * x * y - s * z, t * x * z + s * y],
                     [t * x * y + s * z, c + t * y * y, t * y * z - s * x],
                     [t * x * z - s * y, t * y * z + s * x, c + t * z * z]])
