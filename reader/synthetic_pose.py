"""Synthetic 2D COCO-17 pose annotations with class-dependent motions (demo 1002 and tests).

The motions are those of the synthetic NTU skeletons (synthetic.py: each class moves one limb
for its own number of cycles; some have two people), mapped onto the COCO-17 keypoints and seen
through a camera of 1920 x 1080 pixels, as a top-down pose estimator would
report them: pixel x, y and a score per keypoint. Every third clip also holds a bystander who
stands still and is detected with low scores, so the reader has to pick people by score.
Written as one annotation pickle with a `train` and a `val` split of alternate clips.
"""
import pickle
from pathlib import Path

import numpy as np

from .synthetic import synthetic_motion

# COCO-17 keypoint -> NTU joint (0-based) it is taken from, plus an offset in metres: the eyes
# and ears sit around the NTU head joint.
_FROM_NTU = (
    (3, (0.00, -0.02, -0.08)),    # nose
    (3, (-0.03, 0.01, -0.06)),    # left eye
    (3, (0.03, 0.01, -0.06)),     # right eye
    (3, (-0.07, 0.00, 0.00)),     # left ear
    (3, (0.07, 0.00, 0.00)),      # right ear
    (4, (0, 0, 0)), (8, (0, 0, 0)),      # shoulders
    (5, (0, 0, 0)), (9, (0, 0, 0)),      # elbows
    (6, (0, 0, 0)), (10, (0, 0, 0)),     # wrists
    (12, (0, 0, 0)), (16, (0, 0, 0)),    # hips
    (13, (0, 0, 0)), (17, (0, 0, 0)),    # knees
    (14, (0, 0, 0)), (18, (0, 0, 0)),    # ankles
)
# The synthetic NTU classes whose swings a camera in front sees: arms and legs swinging
# sideways, the torso bending sideways, once or three times per clip (a forward swing moves in
# depth, which 2D poses lack), then the same twice per clip.
VISIBLE_CLASSES = (0, 1, 10, 11, 17, 18, 19, 27, 28, 29, 5, 6, 22, 23, 24)
IMAGE_SHAPE = (1080, 1920)   # height, width
_FOCAL = 1060.0              # pixels, as the Kinect v2 colour camera


def coco_keypoints(bodies):
    """NTU joint positions (M, T, 25, 3) -> COCO-17 positions (M, T, 17, 3), in metres."""
    joints = [index for index, _ in _FROM_NTU]
    offsets = np.array([offset for _, offset in _FROM_NTU], np.float32)
    return bodies[:, :, joints] + offsets


def project(points):
    """Camera-space points (..., 3) in metres (y up, z away) -> pixel (..., 2) in the image."""
    height, width = IMAGE_SHAPE
    z = np.maximum(points[..., 2], 0.1)
    return np.stack([width / 2 + _FOCAL * points[..., 0] / z,
                     height / 2 - _FOCAL * points[..., 1] / z], axis=-1)


def synthetic_annotation(name, class_index, length, rng, bystander=False):
    """One 2D annotation (the pickle's dict) of a clip of the class (0-based, < 15)."""
    bodies = coco_keypoints(synthetic_motion(VISIBLE_CLASSES[class_index], length, rng))
    keypoint = project(bodies) + rng.normal(0, 1.5, bodies.shape[:3] + (2,))
    score = _scores(rng, bodies.shape[:3], 0.7, 1.0)
    if bystander:
        still = coco_keypoints(synthetic_motion(0, 1, rng))[:1] + [1.6, 0.0, 1.5]
        still_xy = np.repeat(project(still), length, axis=1)
        keypoint = np.concatenate([keypoint, still_xy + rng.normal(0, 3, still_xy.shape)])
        score = np.concatenate([score, _scores(rng, (1, length, 17), 0.1, 0.3)])
    return {'frame_dir': name, 'label': class_index, 'total_frames': length,
            'img_shape': IMAGE_SHAPE, 'original_shape': IMAGE_SHAPE,
            'keypoint': keypoint.astype(np.float32), 'keypoint_score': score.astype(np.float32)}


def _scores(rng, shape, low, high):
    """Scores (persons, frames, joints): a level per keypoint between low and high, varying a
    little from frame to frame, as a pose estimator's do."""
    level = rng.uniform(low, high, (shape[0], 1, shape[2]))
    return np.clip(level + rng.normal(0, 0.02, shape), 0, 1)


def write_synthetic_annotations(path, num_class=10, samples_per_class=24, frames=32, seed=0):
    """Write the pickle; alternate clips of each class go to `train` and `val`. Returns the
    number of annotations. Clip lengths vary between 3/4 of `frames` and `frames`."""
    if not 1 <= num_class <= len(VISIBLE_CLASSES):
        raise ValueError(f'num_class must be 1 to {len(VISIBLE_CLASSES)}, got {num_class}')
    rng = np.random.RandomState(seed)
    annotations, splits = [], {'train': [], 'val': []}
    for class_index in range(num_class):
        for index in range(samples_per_class):
            name = f'synthetic_c{class_index:03d}_s{index:03d}'
            length = int(rng.randint(max(1, frames * 3 // 4), frames + 1))
            annotations.append(synthetic_annotation(name, class_index, length, rng,
                                                    bystander=index % 3 == 2))
            splits['val' if index % 2 else 'train'].append(name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + '.partial')
    with open(partial, 'wb') as f:
        pickle.dump({'split': splits, 'annotations': annotations}, f, pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return len(annotations)
