"""-gd from NTU RGB+D .skeleton files (`dataset: ntu-*`): the benchmark's train and eval files,
less those on NTU's missing-skeleton list, into the arrays (generation.arrays).

A process pool parses the files; each worker writes its samples straight into the split's .npy
at the file's row, and the main process, taking results in file order, only moves a row up when
files before it were skipped. No process holds more than a few samples, so memory stays flat
however many files there are. The C line scanner (reader/native.py) is built before the workers
fork, so that they share it; they also keep freed memory for reuse, since each file's arrays
would otherwise be page-faulted in afresh.
"""
import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dataset import configured_workers
from reader import (SampleNameError, SkeletonError, is_training, load_sample, native,
                    num_classes, parse_name, uses_ntu120, write_synthetic_dataset)
from reader.ntu import BENCHMARKS, NAME_PATTERN
from reader.sample import MAX_BODY, MAX_FRAME
from reader.skeleton import NUM_JOINTS
from utils.runtime import keep_freed_memory
from .arrays import (PHASES, GenerateError, KeptRows, output_folder, remove_old_outputs, skip,
                     split_array, write_at, write_skipped)
from .synthetic import write_synthetic
from .workers import available_cores, worker_pool

logger = logging.getLogger(__name__)

SAMPLE_SHAPE = (3, MAX_FRAME, NUM_JOINTS, MAX_BODY)   # of an NTU sample
_CHUNKSIZE = 16   # files per pool task: amortises inter-process overhead, keeps order cheap


def generate_from_skeletons(cfg, progress=True):
    """The train and eval arrays of an NTU benchmark; the summary generator.generate returns."""
    benchmark, args = _dataset_settings(cfg)
    num_workers = configured_workers(args, 'worker processes', '-gd: one a core')
    folders = _source_folders(args, benchmark)
    ignored_names = _ignore_list(ignore_list_path(args.get('ignore_list'), benchmark))
    splits, bad_names, ignored = _assign_splits(folders, ignored_names, benchmark)
    num_ignored = sum(len(paths) for paths in ignored.values())
    out_dir = output_folder(args, benchmark)
    remove_old_outputs(out_dir)

    summary = {'bad_names': len(bad_names), 'ignored': num_ignored, 'out_dir': str(out_dir)}
    skipped = list(bad_names) + [(path, IGNORED_REASON) for phase in PHASES
                                 for path in ignored[phase]]
    with _pool(num_workers) as pool:
        for phase in PHASES:
            kept, phase_skipped = _write_split(pool, splits[phase], out_dir, phase,
                                               bool(args.get('transform')), progress)
            summary[phase] = {'kept': kept, 'skipped': len(phase_skipped)}
            skipped += phase_skipped
    write_skipped(out_dir, skipped)
    logger.info('%s: train kept %d, skipped %d; eval kept %d, skipped %d; %d bad names, '
                '%d on the ignore list -> %s', benchmark, summary['train']['kept'],
                summary['train']['skipped'], summary['eval']['kept'],
                summary['eval']['skipped'], len(bad_names), num_ignored, out_dir)
    return summary


def _dataset_settings(cfg):
    benchmark = cfg.get('dataset')
    if benchmark not in BENCHMARKS:
        raise GenerateError(f'dataset {benchmark!r} cannot be generated: set dataset to one of '
                            f'{", ".join(BENCHMARKS)}')
    args = (cfg.get('dataset_args') or {}).get('ntu')
    if not isinstance(args, dict):
        raise GenerateError('no NTU settings: set dataset_args.ntu (root_folder, ntu60_path, ...)')
    if not args.get('root_folder'):
        raise GenerateError('no output folder: set dataset_args.ntu.root_folder')
    return benchmark, args


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
    """Per phase, (path, label) of the .skeleton files sorted by file name. Files with a bad
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
        splits[phase].append((path, fields['action'] - 1))
    if ignored_names:
        logger.info('ignored %d train and %d eval samples named in the ignore list '
                    '(listed in skipped.txt)', len(ignored['train']), len(ignored['eval']))
    return splits, bad_names, ignored


def _pool(num_workers):
    """Worker processes (every core when the config says 0 or nothing)."""
    if not num_workers:   # the config's loader setting is often 0: use every core here
        num_workers = available_cores()
    native.line_scanner()   # build or load it once, before forking
    return worker_pool(num_workers, initializer=keep_freed_memory)


# Per worker: the open file of the split's .npy (workers write their samples into it directly,
# so no sample data crosses between processes).
_output = {'path': None, 'fd': None}


def _load_into(job):
    """In a worker: load one file and write it at its byte position in the split's .npy.
    Returns (frames kept, warnings), or (None, [reason]) for a file that cannot be used. Only a
    failing write raises: one odd file cannot end the run."""
    path, npy_path, position, transform = job
    try:
        data, length, warnings = load_sample(path, transform=transform)
    except SkeletonError as e:
        return None, [e.reason]
    except Exception as e:   # noqa: BLE001 - report, skip, carry on
        return None, [f'unexpected {type(e).__name__}: {e}']
    if _output['path'] != npy_path:
        if _output['fd'] is not None:
            os.close(_output['fd'])
        _output.update(path=npy_path, fd=os.open(npy_path, os.O_WRONLY))
    write_at(_output['fd'], np.ascontiguousarray(data), position)
    return length, warnings


def _write_split(pool, samples, out_dir, phase, transform, progress):
    """Stream the split's samples into {phase}_data.npy and write {phase}_label.pkl; returns
    (number kept, [(path, reason) skipped])."""
    rows, skipped = KeptRows(), []
    with split_array(out_dir, phase, len(samples), SAMPLE_SHAPE, 'ntu') as array:
        jobs = [(path, str(array.partial), array.position(row), transform)
                for row, (path, _) in enumerate(samples)]
        results = pool.imap(_load_into, jobs, _CHUNKSIZE)
        with tqdm(total=len(samples), desc=phase, dynamic_ncols=True,
                  disable=not progress) as bar:
            for row, ((path, label), (length, notes)) in enumerate(zip(samples, results)):
                bar.update()
                if length is None:
                    skipped.append(skip(path, notes[0]))
                    continue
                if len(rows) < row:   # files before it were skipped: move it up, no gap
                    array.move(row, len(rows))
                rows.keep(path, label, length, notes)
        array.complete(len(rows))
    rows.write_labels(out_dir, phase)
    return len(rows), skipped
