"""The samples -gd makes of NTU RGB+D .skeleton files (`dataset: ntu-*`, dataset/sources.py):
the benchmark's train and eval files, less those on NTU's missing-skeleton list, each read by
reader.skeleton_annotation in generation.samples' workers. The C line scanner
(reader/native.py) is built here, before the workers fork, so that they share it.
"""
import logging
import os
from pathlib import Path

from reader import (SampleNameError, is_training, native, num_classes, parse_name, uses_ntu120,
                    write_synthetic_dataset)
from reader.ntu import NAME_PATTERN
from .arrays import PHASES, GenerateError, skip
from .synthetic import write_synthetic

logger = logging.getLogger(__name__)


def list_samples(benchmark, args, settings, progress=True):
    """The source's lister (dataset/sources.py): per phase the (path, path) of the benchmark's
    files; bad names and ignored files are left out, listed first in skipped.txt."""
    folders = _source_folders(args, benchmark)
    ignored_names = _ignore_list(ignore_list_path(args.get('ignore_list'), benchmark))
    splits, bad_names, ignored = _assign_splits(folders, ignored_names, benchmark)
    native.line_scanner()   # build or load it once, before the workers fork
    skipped = list(bad_names) + [(path, IGNORED_REASON) for phase in PHASES
                                 for path in ignored[phase]]
    return {'phases': {phase: (splits[phase], []) for phase in PHASES}, 'skipped': skipped,
            'summary': {'bad_names': len(bad_names),
                        'ignored': sum(len(paths) for paths in ignored.values())}}


def _source_folders(args, benchmark):
    """The folders to read: ntu60_path, and ntu120_path for NTU-120 benchmarks. The demo
    config's `synthetic` settings fill an empty ntu60_path with synthetic files first."""
    keys = ['ntu60_path'] + (['ntu120_path'] if uses_ntu120(benchmark) else [])
    folders = []
    for key in keys:
        folder = args.get(key)
        if not folder:
            raise GenerateError(f'no folder of .skeleton files: set dataset_args.ntu.{key}')
        if key == 'ntu60_path' and args.get('synthetic') and not _has_skeletons(folder):
            write_synthetic(write_synthetic_dataset, folder, args['synthetic'], 'ntu')
        if not _has_skeletons(folder):
            raise GenerateError(f'{folder} holds no .skeleton files: set '
                                f'dataset_args.ntu.{key} to the folder of NTU skeletons')
        folders.append(str(folder))
    return folders


def _has_skeletons(folder):
    if not os.path.isdir(folder):
        return False
    with os.scandir(folder) as entries:
        return any(e.name.endswith('.skeleton') for e in entries)


IGNORE_LISTS = Path(__file__).resolve().parent.parent / 'dataset' / 'ignore_lists'
IGNORED_REASON = "on NTU's list of samples with missing skeletons (dataset_args.ntu.ignore_list)"


def ignore_list_path(setting, benchmark):
    """dataset_args.ntu.ignore_list: empty means NTU's own list for the benchmark (NTU-60's 302
    samples; for NTU-120 benchmarks the 535, which include them), as the official generator
    always applies; `none` applies none; anything else is the path of a list."""
    if setting is None or setting == '':
        name = 'NTU_RGBD120' if uses_ntu120(benchmark) else 'NTU_RGBD'
        return IGNORE_LISTS / f'{name}_samples_with_missing_skeletons.txt'
    if str(setting).lower() == 'none':
        return None
    return setting


def _ignore_list(path):
    """Sample names in NTU's missing-skeleton list: a short header, then one name per line."""
    if not path:
        return frozenset()
    try:
        text = Path(path).read_text(errors='replace')
    except OSError as e:
        raise GenerateError(f'cannot read {path} ({e.strerror}): set dataset_args.ntu.ignore_list '
                            'to a list of samples, leave it empty for NTU\'s own list, or none '
                            'for no list') from None
    return frozenset(line.strip() for line in text.splitlines()
                     if NAME_PATTERN.fullmatch(line.strip()))


def _assign_splits(folders, ignored_names, benchmark):
    """Per phase, (path, path) of the .skeleton files sorted by file name. Files with a bad
    name come back as (path, reason); files named in the ignore list as their paths per
    phase."""
    files = sorted((entry.name, folder) for folder in folders
                   for entry in os.scandir(folder)
                   if entry.name.endswith('.skeleton') and entry.is_file())
    splits = {phase: [] for phase in PHASES}
    ignored = {phase: [] for phase in PHASES}
    bad_names = []
    classes = num_classes(benchmark)
    for name, folder in files:
        path = os.path.join(folder, name)
        try:
            fields = parse_name(name)
        except SampleNameError as e:
            bad_names.append(skip(path, str(e)))
            continue
        phase = 'train' if is_training(fields, benchmark) else 'eval'
        if name[:-len('.skeleton')] in ignored_names:
            ignored[phase].append(path)
            continue
        if fields['action'] > classes:
            bad_names.append(skip(path, f'action {fields["action"]} is not one of the '
                                         f'{classes} classes of {benchmark}'))
            continue
        splits[phase].append((path, path))
    if ignored_names:
        logger.info('ignored %d train and %d eval samples named in the ignore list '
                    '(listed in skipped.txt)', len(ignored['train']), len(ignored['eval']))
    return splits, bad_names, ignored
