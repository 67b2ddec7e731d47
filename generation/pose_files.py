"""The samples -gd makes of pose-annotation pickles of mmaction2 and pyskl (`dataset: pose-*`,
dataset/sources.py, reader/pose.py): the config's train and eval splits, or your own videos,
whose poses become such a pickle first (generation/videos.py).

A pickle can only be loaded whole, so the process holds the annotations (the poses as the file
stores them: a fraction of the arrays written); generation.samples' workers, forked after this,
make the samples of them.
"""
import logging
import os

from dataset import POSE
from reader import PoseFileError, load_annotations, pose, split_samples
from reader.synthetic_pose import write_synthetic_annotations
from .arrays import GenerateError, skip
from .synthetic import write_synthetic
from .videos import annotations_from_videos

logger = logging.getLogger(__name__)

PHASE_SPLITS = {'train': 'train_split', 'eval': 'eval_split'}


def list_samples(dataset, args, settings, progress=True):
    """The source's lister (dataset/sources.py): per phase the (id, annotation) pairs of its
    split and the (id, reason) of those it cannot take; annotations no split can name are
    listed first in skipped.txt."""
    unusable = {}
    if args.get('videos'):   # own videos: their poses become the annotation pickle first
        args, unusable = annotations_from_videos(args, settings, progress)
    phases, unnamed = _phase_samples(_annotation_sources(args), settings)
    return {'phases': {phase: (samples, unusable.get(phase, []) + missing)
                       for phase, (samples, missing) in phases.items()},
            'skipped': unnamed, 'summary': {'unnamed': len(unnamed)}}


def _annotation_sources(args):
    """phase -> (pickle path, split name). ann_file serves both phases; with eval_ann_file the
    eval samples come from that file instead. A file of a bare list is its split by itself."""
    ann_file = args.get('ann_file')
    if not ann_file:
        raise GenerateError(f'no annotation file: set dataset_args.{POSE}.ann_file to the pose '
                            'pickle (mmaction2 / pyskl format)')
    if args.get('synthetic') and not os.path.exists(ann_file):
        write_synthetic(write_synthetic_annotations, ann_file, args['synthetic'], POSE)
    sources = {}
    for phase, key in PHASE_SPLITS.items():
        path = str(args.get('eval_ann_file') or ann_file) if phase == 'eval' else str(ann_file)
        sources[phase] = (path, args.get(key) or None)
    return sources


def _phase_samples(sources, settings):
    """(phase -> ((id, annotation) pairs, (id, reason) of split ids that cannot be taken),
    (id, reason) of annotations no split can name). A file with splits needs the config's split
    names; a bare list is its split by itself, so it cannot serve both phases."""
    files = {path: _load_annotation_file(path, settings) for path, _ in sources.values()}
    (train_file, _), (eval_file, _) = sources['train'], sources['eval']
    if train_file == eval_file and files[train_file][1] is None:
        raise GenerateError(f'{train_file} holds a list of annotations without splits: set '
                            f'dataset_args.{POSE}.eval_ann_file to the file of the eval samples '
                            '(ann_file then holds the training samples)')
    phases = {}
    for phase, (path, split) in sources.items():
        annotations, splits = files[path]
        key = f'dataset_args.{POSE}.{PHASE_SPLITS[phase]}'
        if splits is not None and split is None:
            raise GenerateError(f'no {phase} split named: set {key} to one of the splits of '
                                f'{path} ({", ".join(map(str, splits)) or "it has none"})')
        split = split if splits is not None else None   # a bare list is its split by itself
        try:
            phases[phase] = split_samples(annotations, splits, split, path)
        except PoseFileError as e:
            fix = f'set {key} to one of its splits that names samples' if split is not None \
                else 'give a file with annotations'
            raise GenerateError(f'{e}: {fix}') from None
    unnamed = [skip(f'{path}: annotation #{i}', 'no frame_dir, so no split names it')
               for path, (annotations, splits) in files.items() if splits is not None
               for i in pose.annotations_without_id(annotations)]
    if unnamed:
        logger.warning('%d annotations have no frame_dir, so no split names them and they are '
                       'left out (listed in skipped.txt)', len(unnamed))
    return phases, unnamed


def _load_annotation_file(path, settings):
    """(annotations, splits) of the pickle, checked against the config's keypoint_dim."""
    logger.info('reading %s (a pickle loads whole: large files take a while)', path)
    try:
        annotations, splits = load_annotations(path)
    except pose.PoseFileRefused as e:
        raise GenerateError(str(e)) from None
    except PoseFileError as e:
        raise GenerateError(f'{e}: set dataset_args.{POSE}.ann_file to a pose-annotation '
                            'pickle') from None
    wanted = settings['keypoint_dim']
    try:
        pose.check_keypoint_dim(annotations, wanted, path,
                                f'the config says keypoint_dim {wanted}')
    except PoseFileError as e:
        raise GenerateError(f'{e}: set dataset_args.{POSE}.keypoint_dim to the file\'s (and the '
                            'layout to match)') from None
    if splits is None:
        logger.info('%s holds a list of annotations without splits: its %d samples are one '
                    'split (split names do not apply)', path, len(annotations))
    return annotations, splits
