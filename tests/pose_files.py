"""Pose-annotation pickles for tests: NTU .skeleton files written in the format (by our own
reader), and small hand-made 2D / 3D annotations."""
import pickle
from pathlib import Path

import numpy as np

from reader import is_training, parse_name, read_skeleton, sample_stem

# split name prefix -> benchmark whose training rule it follows
NTU60_SPLITS = {'xsub': 'ntu-xsub', 'xview': 'ntu-xview'}


def ntu_annotation(path):
    """One .skeleton file as a 3D annotation: every body slot, x y z as the file gives them."""
    keypoint = read_skeleton(path)
    return {'frame_dir': sample_stem(path), 'label': parse_name(Path(path).name)['action'] - 1,
            'total_frames': keypoint.shape[1], 'keypoint': keypoint}


def write_ntu_annotations(skeleton_files, path):
    """The files as pyskl's ntu60_3danno.pkl lays them out: annotations in file-name order and
    the xsub/xview train/val splits."""
    files = sorted(skeleton_files, key=lambda p: Path(p).name)
    annotations = [ntu_annotation(p) for p in files]
    splits = {}
    for prefix, benchmark in NTU60_SPLITS.items():
        train = [is_training(parse_name(Path(p).name), benchmark) for p in files]
        splits[f'{prefix}_train'] = [a['frame_dir'] for a, t in zip(annotations, train) if t]
        splits[f'{prefix}_val'] = [a['frame_dir'] for a, t in zip(annotations, train) if not t]
    write_pickle(path, {'split': splits, 'annotations': annotations})
    return path


def write_pickle(path, content):
    with open(path, 'wb') as f:
        pickle.dump(content, f)
    return path


def annotation_2d(name, label, persons=1, frames=10, joints=17, seed=0, img_shape=(480, 640)):
    """A 2D annotation with random pixel keypoints inside the image and scores."""
    rng = np.random.RandomState(seed)
    height, width = img_shape
    keypoint = rng.uniform(0, 1, (persons, frames, joints, 2)) * [width, height]
    return {'frame_dir': name, 'label': label, 'total_frames': frames, 'img_shape': img_shape,
            'keypoint': keypoint.astype(np.float32),
            'keypoint_score': rng.uniform(0.5, 1, (persons, frames, joints)).astype(np.float32)}


def annotation_3d(name, label, persons=1, frames=10, joints=25, seed=0):
    rng = np.random.RandomState(seed)
    return {'frame_dir': name, 'label': label, 'total_frames': frames,
            'keypoint': rng.normal(0, 1, (persons, frames, joints, 3)).astype(np.float32)}


def pose_config(root, ann_file, layout='coco', keypoint_dim=2, num_class=10, max_frame=300,
                train_split='train', eval_split='val', **extra):
    """A config dict -gd can run on: the demo 1002's, pointed at the given file."""
    from helpers import config_of
    return config_of('1002', root_folder=str(root), ann_file=str(ann_file), layout=layout,
                     keypoint_dim=keypoint_dim, num_class=num_class, max_frame=max_frame,
                     train_split=train_split, eval_split=eval_split, synthetic=None, **extra)
