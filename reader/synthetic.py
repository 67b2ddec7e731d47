"""Synthetic NTU-format .skeleton files with class-dependent motions (demo config and tests).

Each action class moves one limb (left arm, right arm, left leg, right leg or torso) for its own
number of cycles per clip (1-3), about one of two axes; every fourth class is performed by two
people, the second moving the other side.
Samples vary in position, facing, size, speed, length and noise, so a model has to learn the
motion itself. Coordinates are Kinect camera space in metres: y up, the person ~3 m away in z.
"""
from pathlib import Path

import numpy as np

from .ntu import XSUB120_TRAINING_PERFORMERS, XSUB_TRAINING_PERFORMERS

# A standing person facing the camera, relative to joint 0 (base of the spine); NTU joint order.
POSE = np.array([
    [0.00, 0.00, 0.00], [0.00, 0.28, 0.00], [0.00, 0.55, 0.00], [0.00, 0.70, 0.00],
    [-0.17, 0.47, 0.00], [-0.22, 0.22, 0.00], [-0.24, 0.00, 0.00], [-0.24, -0.06, 0.00],
    [0.17, 0.47, 0.00], [0.22, 0.22, 0.00], [0.24, 0.00, 0.00], [0.24, -0.06, 0.00],
    [-0.08, -0.02, 0.00], [-0.09, -0.44, 0.00], [-0.09, -0.82, 0.00], [-0.09, -0.87, -0.09],
    [0.08, -0.02, 0.00], [0.09, -0.44, 0.00], [0.09, -0.82, 0.00], [0.09, -0.87, -0.09],
    [0.00, 0.48, 0.00], [-0.24, -0.13, 0.00], [-0.21, -0.07, -0.02], [0.24, -0.13, 0.00],
    [0.21, -0.07, -0.02]])

# (pivot joint, moving joints, peak angle in radians, swing axis of classes 0-14 and of 15-29):
# arms first swing sideways (about z), legs and torso forwards (about x)
LIMBS = (
    (4, (5, 6, 7, 21, 22), -1.4, (2, 0)),                                  # left arm
    (8, (9, 10, 11, 23, 24), 1.4, (2, 0)),                                 # right arm
    (12, (13, 14, 15), 0.9, (0, 2)),                                       # left leg
    (16, (17, 18, 19), 0.9, (0, 2)),                                       # right leg
    (0, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 22, 23, 24), -0.6, (0, 2)),  # torso bow
)
MIRROR = {0: 1, 1: 0, 2: 3, 3: 2, 4: 4}   # the second person moves the other side

_TRAIN_PERFORMERS = sorted(XSUB_TRAINING_PERFORMERS)
_EVAL_PERFORMERS = sorted(set(range(1, 41)) - XSUB120_TRAINING_PERFORMERS)
_BODY_ID = 72057594037927936   # Kinect body ids are large integers like this


def sample_name(index, action):
    """Names spread so that any 2+ samples of an action fall in both halves of every split:
    performers alternate between X-sub training and eval, cameras cycle 1-3, setups 1 and 2."""
    performers = _EVAL_PERFORMERS if index % 2 else _TRAIN_PERFORMERS
    performer = performers[(index // 2) % 20]
    camera = 1 + index % 3
    setup = 1 + ((index + 1) // 2) % 2
    replication = 1 + index // 40
    return f'S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}.skeleton'


def write_synthetic_dataset(folder, actions=tuple(range(1, 11)), samples_per_action=8,
                            frames=64, seed=0):
    """Write samples_per_action files per action into `folder`; returns their paths.

    Clip lengths vary between 3/4 of `frames` and `frames`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    paths = []
    for class_index, action in enumerate(actions):
        for index in range(samples_per_action):
            length = int(rng.randint(max(1, frames * 3 // 4), frames + 1))
            bodies = synthetic_motion(class_index, length, rng)
            path = folder / sample_name(index, action)
            path.write_text(format_skeleton(bodies, rng))
            paths.append(path)
    return paths


def synthetic_motion(class_index, length, rng):
    """Joint positions (bodies, frames, 25, 3) of one clip of the class."""
    limb = class_index % len(LIMBS)
    cycles = 1 + (class_index // len(LIMBS)) % 3
    variant = (class_index // 15) % 2
    people = 2 if class_index % 4 == 3 else 1
    phase = np.arange(length) / max(length - 1, 1) * cycles * rng.uniform(0.9, 1.1)
    swing = (1 - np.cos(2 * np.pi * phase)) / 2 * rng.uniform(0.8, 1.2)     # 0 -> 1, from rest
    position = np.array([rng.uniform(-0.6, 0.3), rng.uniform(0.0, 0.3), rng.uniform(2.7, 3.7)])
    yaw = rng.uniform(-0.5, 0.5)
    bodies = []
    for person in range(people):
        moving = limb if person == 0 else MIRROR[limb]
        body = _move_limb(POSE * rng.uniform(0.9, 1.1), LIMBS[moving], swing, variant)
        body = _rotate(body, yaw, axis=1) + position + [0.9 * person, 0.0, 0.1 * person]
        bodies.append(body + rng.normal(0, 0.005, body.shape))
    return np.stack(bodies).astype(np.float32)


def _move_limb(pose, limb, swing, variant):
    """(frames, 25, 3): the pose with the limb's joints turned about its pivot by
    swing * peak angle, frame by frame."""
    pivot, joints, peak, axes = limb
    frames = np.repeat(pose[None], len(swing), axis=0)
    joints = list(joints)
    relative = pose[joints] - pose[pivot]                                   # J, 3
    frames[:, joints] = pose[pivot] + _rotate(relative, swing[:, None] * peak, axes[variant])
    return frames


def _rotate(points, angle, axis):
    """Rotate points (..., 3) about coordinate `axis` by `angle`, which broadcasts against
    points[..., 0] (one angle, or one per frame)."""
    a, b = [i for i in range(3) if i != axis]
    cos, sin = np.cos(angle), np.sin(angle)
    out = np.empty(np.broadcast_shapes(points.shape[:-1], np.shape(angle)) + (3,))
    out[..., axis] = points[..., axis]
    out[..., a] = cos * points[..., a] - sin * points[..., b]
    out[..., b] = sin * points[..., a] + cos * points[..., b]
    return out


def format_skeleton(bodies, rng):
    """NTU text of bodies (M, T, 25, 3): every body present in every frame."""
    num_bodies, num_frames = bodies.shape[:2]
    ids = [_BODY_ID + int(rng.randint(1, 10 ** 6)) for _ in range(num_bodies)]
    joint_text = _joint_lines(bodies)                             # M, T strings of 25 lines
    out = [f'{num_frames}']
    for t in range(num_frames):
        out.append(f'{num_bodies}')
        for m in range(num_bodies):
            out.append(f'{ids[m]} 0 1 1 1 1 0 0.01 0.02 2')
            out.append('25')
            out.append(joint_text[m][t])
    return '\n'.join(out) + '\n'


def _joint_lines(bodies):
    """Per body and frame, the 25 joint lines: x y z, depth and colour pixel positions of a
    Kinect v2, a zero orientation and tracking state 2 (tracked)."""
    x, y, z = bodies[..., 0], bodies[..., 1], bodies[..., 2]
    columns = np.stack([x, y, z, 256 + 365 * x / z, 212 - 365 * y / z,
                        960 + 1060 * x / z, 540 - 1060 * y / z], axis=-1)
    line = '%.7g %.7g %.7g %.7g %.7g %.7g %.7g 0 0 0 0 2'
    return [['\n'.join(line % tuple(row) for row in frame) for frame in body]
            for body in columns.tolist()]
