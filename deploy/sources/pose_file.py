"""Pose-annotation pickles of mmaction2 / pyskl (reader/pose.py): every sample, or those of one
split, prepared as -gd prepares them."""
from pathlib import Path

import reader
from ..messages import InferError, report_error, warn
from ..model_config import check_sample_shape


def open_samples(poses, split, deploy, failures):
    """(name, sample, label) of a pose-annotation pickle's path, or of what such a pickle holds
    (a dict with split and annotations, a list of annotations, or one annotation): every sample,
    or those of `split`."""
    source = poses if isinstance(poses, (str, Path)) else 'the annotations given'
    samples = annotations_to_infer(poses, split, deploy, failures, source)
    if not samples and not failures:
        raise InferError(f'{source} holds no samples'
                         f'{" in split " + repr(split) if split else ""}')
    return pose_samples(samples, deploy, failures)


def annotations_to_infer(poses, split, deploy, failures, source):
    """The (id, annotation) pairs of the file or content (its split, or all); ids of the split
    that cannot be taken are reported."""
    try:
        if isinstance(poses, (str, Path)):
            annotations, splits = reader.load_annotations(poses)
        else:
            annotations, splits = reader.pose.annotations_of(poses, source)
        reader.pose.check_keypoint_dim(annotations, deploy['keypoint_dim'], source,
                                       f'the model takes {deploy["keypoint_dim"]}D poses '
                                       f'({deploy["layout"]} layout)')
        samples, missing = reader.split_samples(annotations, splits, split, source)
    except reader.PoseFileError as e:
        raise InferError(str(e)) from None
    for name, reason in missing:
        report_error(name, reason)
        failures.append(name)
    return samples


def pose_samples(samples, deploy, failures):
    """(name, sample, label) of the usable annotations, prepared as -gd prepares them; the label
    is None when the annotation has none the model knows."""
    num_joints = deploy['input_shape'][-2]
    for name, annotation in samples:
        try:
            data, _, notes = reader.pose_sample(annotation, num_joints, deploy['keypoint_dim'],
                                                deploy['max_frame'], bool(deploy['transform']))
        except reader.PoseSampleError as e:
            report_error(name, e)
            failures.append(name)
            continue
        for note in notes:
            warn(f'{name}: {note}')
        check_sample_shape(data.shape, deploy, name)
        yield name, data, pose_label(name, annotation, deploy['num_class'])


def pose_label(name, annotation, num_class):
    if annotation.get('label') is None:
        return None
    try:
        return reader.pose.read_label(annotation, num_class)
    except reader.PoseSampleError as e:
        warn(f'{name}: {e}; its prediction is not scored')
        return None
