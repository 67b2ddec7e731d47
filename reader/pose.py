"""Pose-annotation pickles, the exchange format of mmaction2's and pyskl's skeleton pipelines:
the file, its splits, and one annotation -> one model-ready sample. Shared by -gd and infer.py.

The file is a pickle of a dict: `split` maps split names to lists of sample ids, `annotations` is
a list of dicts with `frame_dir` (the sample id), `label` (0-based class), `total_frames`,
`keypoint` (persons x frames x joints x coordinates, 3 for 3D and 2 for 2D) and, for 2D,
`keypoint_score` (persons x frames x joints) and `img_shape` (height, width). A pickle of a bare
list of annotations (as pyskl's custom_2d_skeleton.py writes) is one split by itself, and so is
a pickle of one annotation (as mmaction2's ntu_pose_extraction.py writes per video).

A sample is laid out as NTU's: (3, max_frame, joints, 2 persons) float32, frames from the start,
cut or zero-padded. 3D keypoints are x y z and the persons kept are the two most energetic, as
for NTU; 2D keypoints become x and y scaled from the image to [-1, 1] with the score as the third
channel, and the persons kept are those with the highest mean score.

Pure numpy. The pickle is read by utils/safe_pickle.py, which runs nothing the file names: a
file naming anything but containers and numpy's arrays is refused.
"""
import numpy as np

from utils import safe_pickle

from .sample import MAX_BODY, select_bodies
from .transform import pre_normalise_in_place


class PoseFileError(ValueError):
    """A file that is not a pose-annotation pickle, or lacks a split asked for."""


class PoseFileRefused(PoseFileError):
    """A pickle that names something it could run: not read; the message is the whole line."""


class PoseSampleError(ValueError):
    """An annotation that cannot be used; the message says why in a few words."""


def load_annotations(path):
    """(annotations, splits) of a pose-annotation pickle; splits is None for a bare list, a
    single annotation or a dict without a split entry."""
    try:
        content = safe_pickle.load(path)
    except OSError as e:
        raise PoseFileError(f'cannot read {path} ({e.strerror})') from None
    except safe_pickle.ForbiddenName as e:
        raise PoseFileRefused(e.refusal(path, 'pose-annotation pickle')) from None
    except Exception as e:   # noqa: BLE001 - unpickling fails in many ways
        raise PoseFileError(f'{path} is not a pose-annotation pickle ({type(e).__name__}: '
                            f'{_first_line(e)})') from None
    return annotations_of(content, path)


def annotations_of(content, path):
    """(annotations, splits) of what a pose-annotation pickle holds (`path` names it in
    errors): a dict with annotations (and split), a list of annotations or one annotation."""
    if isinstance(content, dict) and isinstance(content.get('annotations'), list):
        splits = content.get('split')   # without one, the annotations are one split
        if splits is not None and not isinstance(splits, dict):
            raise PoseFileError(f'{path}: its split entry is a {type(splits).__name__}, '
                                'not a dict of split names to sample ids')
        return content['annotations'], splits
    if isinstance(content, list) and all(isinstance(item, dict) for item in content):
        return content, None
    if isinstance(content, dict) and 'keypoint' in content:
        return [content], None
    raise PoseFileError(f'{path} holds a {type(content).__name__}, not a pose-annotation pickle '
                        '(a dict with split and annotations, or a list of annotations)')


def as_annotation(annotation):
    """The reader of the pose source (dataset/sources.py): its items are annotations already."""
    return annotation


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else 'no message'


def sample_id(annotation, index):
    """An annotation's name: its frame_dir, or its position in the file when it has none."""
    name = annotation.get('frame_dir') if isinstance(annotation, dict) else None
    return str(name) if name is not None else f'annotation #{index}'


def split_samples(annotations, splits, split, path):
    """The (id, annotation) pairs of a split, in the split's order, and the (id, reason) of ids
    that cannot be taken: not in the annotations, or in them more than once. Split None gives
    every annotation; a bare list of annotations (splits None) has no split to name. A split
    that gives no annotation at all (empty, or naming none of them) is a PoseFileError."""
    if split is None:
        if not annotations:
            raise PoseFileError(f'{path} holds no annotations')
        return [(sample_id(a, i), a) for i, a in enumerate(annotations)], []
    if splits is None:
        raise PoseFileError(f'{path} holds a list of annotations without splits, so no split '
                            f'{split!r}')
    if split not in splits:
        known = ', '.join(map(str, splits)) or 'none'
        raise PoseFileError(f'{path} has no split {split!r} (its splits: {known})')
    ids = splits[split]
    if not isinstance(ids, (list, tuple)):
        raise PoseFileError(f'{path}: split {split!r} is a {type(ids).__name__}, '
                            'not a list of sample ids')
    if not ids:
        raise PoseFileError(f'{path}: split {split!r} is empty (no sample ids)')
    found = {}
    for annotation in annotations:
        if isinstance(annotation, dict) and 'frame_dir' in annotation:
            found.setdefault(str(annotation['frame_dir']), []).append(annotation)
    samples, missing = [], []
    for name in map(str, ids):
        matches = found.get(name, [])
        if len(matches) == 1:
            samples.append((name, matches[0]))
        elif matches:
            missing.append((name, f'its frame_dir appears {len(matches)} times in the annotations'))
        else:
            missing.append((name, f'in split {split!r} but not in the annotations'))
    if not samples:
        unnamed = len(annotations_without_id(annotations))
        without = f'; {unnamed} of them have no frame_dir' if unnamed else ''
        raise PoseFileError(f'{path}: split {split!r} names {len(ids)} samples, none of which it '
                            f'can take from its {len(annotations)} annotations (e.g. '
                            f'{missing[0][0]}: {missing[0][1]}){without}')
    return samples, missing


def annotations_without_id(annotations):
    """The positions of the annotations that have no frame_dir: no split can name them."""
    return [i for i, annotation in enumerate(annotations)
            if not (isinstance(annotation, dict) and 'frame_dir' in annotation)]


def keypoint_dim(annotations):
    """Coordinates per keypoint (3 or 2) of the file's first usable annotation; None if none."""
    for annotation in annotations:
        keypoint = annotation.get('keypoint') if isinstance(annotation, dict) else None
        shape = np.shape(keypoint) if keypoint is not None else ()
        if len(shape) == 4:
            return shape[3]
    return None


def check_keypoint_dim(annotations, wanted, path, expected_by):
    """PoseFileError when the file's keypoints are not `wanted`-D, naming what expected them."""
    found = keypoint_dim(annotations)
    if found is not None and found != wanted:
        raise PoseFileError(f'{path} holds {found}D keypoints but {expected_by}')


def read_label(annotation, num_class):
    """The 0-based class of an annotation; PoseSampleError when it has none in 0..num_class-1."""
    label = annotation.get('label')
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise PoseSampleError(f'label {label!r} is not a class number')
    if not 0 <= label < num_class:
        raise PoseSampleError(f'label {label} is not one of the {num_class} classes (0-based)')
    return int(label)


def pose_sample(annotation, num_joints, keypoint_dim, max_frame, transform=False,
                max_body=MAX_BODY):
    """One annotation as the model reads it: (data float32 (3, max_frame, num_joints, max_body),
    frames kept, warnings). Raises PoseSampleError for an annotation that cannot be used."""
    keypoint = _keypoint(annotation, num_joints, keypoint_dim)
    warnings = []
    num_frames = keypoint.shape[1]
    if num_frames > max_frame:
        warnings.append(f'{num_frames} frames, kept the first {max_frame}')
        num_frames = max_frame
    if keypoint_dim == 3:
        persons = select_bodies(keypoint[:, :num_frames], max_body)
    else:
        score = _keypoint_score(annotation, keypoint.shape[:3])
        persons = _most_confident(_image_coordinates(keypoint, annotation), score,
                                  num_frames, max_body)
    sample = np.zeros((3, max_frame, num_joints, max_body), np.float32)
    sample[:, :num_frames] = persons.transpose(3, 1, 2, 0)
    if transform:
        pre_normalise_in_place(sample)
    return sample, num_frames, warnings


def _keypoint(annotation, num_joints, keypoint_dim):
    """The annotation's keypoint array, float32 (persons, frames, joints, coordinates), checked."""
    if not isinstance(annotation, dict) or 'keypoint' not in annotation:
        raise PoseSampleError('no keypoint entry')
    if 'frame_inds' in annotation:
        raise PoseSampleError('compressed keypoints (frame_inds, Kinetics-style) are not read: '
                              'extract the poses without compression')
    try:
        keypoint = np.asarray(annotation['keypoint'], dtype=np.float32)
    except (TypeError, ValueError):
        raise PoseSampleError('keypoint is not an array of numbers') from None
    wanted = f'(persons, frames, {num_joints}, {keypoint_dim})'
    if keypoint.ndim != 4 or keypoint.shape[2:] != (num_joints, keypoint_dim):
        raise PoseSampleError(f'keypoint has shape {keypoint.shape}, not {wanted}')
    if keypoint.shape[0] == 0 or keypoint.shape[1] == 0:
        raise PoseSampleError(f'keypoint has shape {keypoint.shape}: no persons or no frames')
    total = annotation.get('total_frames', keypoint.shape[1])
    if total != keypoint.shape[1]:
        raise PoseSampleError(f'total_frames is {total!r} but keypoint has '
                              f'{keypoint.shape[1]} frames')
    if not np.isfinite(keypoint).all():
        raise PoseSampleError('keypoint holds non-finite values (nan or inf)')
    return keypoint


def _keypoint_score(annotation, shape):
    if 'keypoint_score' not in annotation:
        raise PoseSampleError('2D keypoints without keypoint_score')
    try:
        score = np.asarray(annotation['keypoint_score'], dtype=np.float32)
    except (TypeError, ValueError):
        raise PoseSampleError('keypoint_score is not an array of numbers') from None
    if score.shape != shape:
        raise PoseSampleError(f'keypoint_score has shape {score.shape}, not {shape} as keypoint')
    if not np.isfinite(score).all():
        raise PoseSampleError('keypoint_score holds non-finite values (nan or inf)')
    return score


def _image_coordinates(keypoint, annotation):
    """Pixel x, y -> [-1, 1] across the image: x / width * 2 - 1, y / height * 2 - 1."""
    shape = annotation.get('img_shape')
    try:
        height, width = (float(size) for size in shape)
    except (TypeError, ValueError):
        raise PoseSampleError(f'img_shape {shape!r} is not (height, width)') from None
    if not (height > 0 and width > 0 and np.isfinite([height, width]).all()):
        raise PoseSampleError(f'img_shape {shape!r} is not a positive (height, width)')
    return keypoint * np.float32([2 / width, 2 / height]) - 1


def _most_confident(xy, score, num_frames, max_body):
    """The `max_body` persons with the highest mean score (ties keep their order), as
    (max_body, num_frames, joints, 3): x, y and score; zeros where persons are fewer."""
    order = np.argsort(-score.reshape(len(score), -1).mean(axis=1), kind='stable')[:max_body]
    persons = np.zeros((max_body, num_frames) + xy.shape[2:3] + (3,), np.float32)
    persons[:len(order), ..., :2] = xy[order, :num_frames]
    persons[:len(order), ..., 2] = score[order, :num_frames]
    return persons
