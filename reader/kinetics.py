"""Kinetics-skeleton as ST-GCN distributes it: OpenPose-18 2D poses, one JSON file per clip.

The folder (dataset_args.kinetics.data_path) holds `kinetics_train/` and `kinetics_val/`, one
`<clip id>.json` each, and `kinetics_train_label.json` / `kinetics_val_label.json`, which map
every clip id to {has_skeleton, label, label_index}. A clip's JSON is {data: [{frame_index,
skeleton: [{pose: [x0, y0, x1, y1, ...], score: [s0, s1, ...]}, ...]}, ...], label,
label_index}: x and y are fractions of the frame's width and height, and a joint OpenPose did
not find is (0, 0) with score 0.

A clip becomes a pose annotation as ST-GCN's feeder reads it: frame_index is the frame's
position, at most the first 5 skeletons of a frame are taken and, within each frame, ordered
by their summed score (so that pose_sample's choice of the two best-scored persons is ST-GCN's
per-frame choice). img_shape is (1, 1), so that pose_sample maps x and y to [-1, 1] as it maps
any 2D pose (where ST-GCN subtracts 0.5 and zeroes the joints of score 0). Clips whose label
entry says has_skeleton false are left out, as ST-GCN does; a clip's label is its own
label_index (ST-GCN checks that it is its label entry's).

A config for it is in docs/data.md (Kinetics-skeleton): `dataset: kinetics-skeleton` (400
classes) and dataset_args.kinetics.data_path, the folder.
"""
import json
import os

import numpy as np

from .pose import PoseSampleError

NUM_JOINTS = 18
NUM_PERSON_IN = 5   # skeletons per frame taken, as ST-GCN's feeder
PHASE_FOLDERS = {'train': 'train', 'eval': 'val'}


def clip_annotation(path):
    """One clip's JSON as a pose annotation (its id as frame_dir, its label_index as label, None
    when it is negative); PoseSampleError for a file that is not such a clip."""
    try:
        with open(path, encoding='utf-8') as f:
            clip = json.load(f)
    except OSError as e:
        raise PoseSampleError(f'cannot read the file ({e.strerror})') from None
    except ValueError as e:
        raise PoseSampleError(f'not JSON ({e})') from None
    if not isinstance(clip, dict) or not isinstance(clip.get('data'), list):
        raise PoseSampleError('not a Kinetics-skeleton clip (no `data` list of frames)')
    keypoint, score = _poses(clip['data'])
    label = clip.get('label_index')
    return {'frame_dir': clip_id(path), 'label': label if isinstance(label, int) and label >= 0
            else None, 'keypoint': keypoint, 'keypoint_score': score,
            'total_frames': keypoint.shape[1], 'img_shape': (1, 1)}


def clip_id(path):
    return os.path.basename(str(path)).split('.')[0]


def _poses(frames):
    """(keypoint (M, T, 18, 2), keypoint_score (M, T, 18)) float32 of the frames."""
    try:
        indices = [int(frame['frame_index']) for frame in frames]
        skeletons = [_frame_skeletons(frame['skeleton']) for frame in frames]
    except (KeyError, TypeError, ValueError) as e:
        raise PoseSampleError(f'a frame is not {{frame_index, skeleton: [{{pose, score}}]}} '
                              f'({type(e).__name__}: {e})') from None
    if not frames or min(indices) < 0:
        raise PoseSampleError('no frames' if not frames else 'a negative frame_index')
    persons = max(len(found) for found in skeletons)
    if persons == 0:
        raise PoseSampleError('no skeleton in any frame')
    keypoint = np.zeros((persons, max(indices) + 1, NUM_JOINTS, 2), np.float32)
    score = np.zeros(keypoint.shape[:3], np.float32)
    for index, found in zip(indices, skeletons):
        for person, (pose, pose_score) in enumerate(found):
            keypoint[person, index] = pose
            score[person, index] = pose_score
    return keypoint, score


def _frame_skeletons(skeletons):
    """The first NUM_PERSON_IN skeletons of a frame as ((18, 2), (18,)) arrays, the highest
    summed score first (ties keep their order)."""
    found = []
    for skeleton in skeletons[:NUM_PERSON_IN]:
        pose = np.asarray(skeleton['pose'], np.float32)
        pose_score = np.asarray(skeleton['score'], np.float32)
        if pose.shape != (2 * NUM_JOINTS,) or pose_score.shape != (NUM_JOINTS,):
            raise ValueError(f'pose of {pose.size} and score of {pose_score.size} numbers, not '
                             f'{2 * NUM_JOINTS} and {NUM_JOINTS}')
        found.append((pose.reshape(NUM_JOINTS, 2), pose_score))
    order = sorted(range(len(found)), key=lambda i: -float(found[i][1].sum()))
    return [found[i] for i in order]


def list_samples(dataset, args, settings, progress=True):
    """-gd's samples: per phase the (clip id, path) of the clips its label file lists with a
    skeleton, sorted by id, and the (id, reason) of those left out."""
    from utils.errors import ConfigError
    folder = args.get('data_path')
    if not folder or not os.path.isdir(folder):
        raise ConfigError(f'dataset_args.kinetics.data_path is {folder!r}: give the '
                          'kinetics-skeleton folder (kinetics_train/, kinetics_val/ and their '
                          'label files)')
    phases = {}
    for phase, part in PHASE_FOLDERS.items():
        labels = _label_file(os.path.join(folder, f'kinetics_{part}_label.json'))
        clips = os.path.join(folder, f'kinetics_{part}')
        names = sorted(name for name in os.listdir(clips) if name.endswith('.json')) \
            if os.path.isdir(clips) else []
        if not names:
            raise ConfigError(f'{clips} holds no clip .json files')
        samples, skipped = [], []
        for name in names:
            entry = labels.get(clip_id(name))
            if not isinstance(entry, dict):
                skipped.append((clip_id(name), f'not in kinetics_{part}_label.json'))
            elif not entry.get('has_skeleton'):
                skipped.append((clip_id(name), 'has_skeleton is false in its label file'))
            else:
                samples.append((clip_id(name), os.path.join(clips, name)))
        phases[phase] = (samples, skipped)
    return {'phases': phases}


def _label_file(path):
    from utils.errors import ConfigError
    try:
        with open(path, encoding='utf-8') as f:
            labels = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f'cannot read {path} ({e}): dataset_args.kinetics.data_path must hold '
                          'the label files as ST-GCN distributes them') from None
    if not isinstance(labels, dict):
        raise ConfigError(f'{path} is not a mapping of clip ids to labels')
    return labels
