"""-gd's one path, whatever the source: its samples' annotations into the arrays
(generation/arrays.py).

The dataset's source (a row of dataset/sources.py) lists every phase's (name, item) pairs; a
pool of worker processes reads each item into a pose annotation with the source's reader, makes
the sample of it (reader.pose_sample: the persons kept, frames cut or padded, the
pre-normalisation) and writes it straight into the split's .npy at the sample's row. The main
process, taking results in order, only moves a row up when samples before it were skipped. The
items reach the workers when they start (forked, they inherit them), so only row numbers and
results cross between processes, and no process holds more than a few samples: memory stays
flat however many samples there are (a pickle of annotations, which loads whole, excepted).
Workers keep freed memory for reuse, since each sample's arrays would otherwise be page-faulted
in afresh.
"""
import logging
import os

import numpy as np
from tqdm import tqdm

from dataset import configured_workers, dataset_settings
from dataset.graphs import Graph
from dataset.sources import source_of
from reader import PoseSampleError, SkeletonError, pose
from reader.sample import MAX_BODY
from utils.errors import ConfigError
from utils.runtime import keep_freed_memory
from .arrays import (PHASES, GenerateError, KeptRows, output_folder, remove_old_outputs, skip,
                     split_array, write_at, write_skipped)
from .workers import available_cores, worker_pool

logger = logging.getLogger(__name__)

_CHUNKSIZE = 16   # samples per pool task: amortises inter-process overhead, keeps order cheap


def generate_dataset(cfg, progress=True):
    """The train and eval arrays of cfg['dataset']; the summary generator.generate returns."""
    dataset, source, args = _dataset_source(cfg)
    settings = dataset_settings(dataset, args)
    num_workers = configured_workers(args, 'worker processes', '-gd: one a core')
    listing = source.list()(dataset, args, settings, progress)   # errors before any output
    out_dir = output_folder(args, dataset)
    remove_old_outputs(out_dir)
    summary = {'bad_names': 0, 'ignored': 0, **listing.get('summary', {}),
               'out_dir': str(out_dir)}
    skipped = list(listing.get('skipped', ()))
    phases = {phase: samples for phase, (samples, _) in listing['phases'].items()}
    shape = (3, settings['max_frame'], Graph(settings['layout']).num_node, MAX_BODY)
    with _pool(num_workers, phases, source.read(), dict(settings, num_joints=shape[2])) as pool:
        for phase in PHASES:
            kept, phase_skipped = _write_split(pool, phases[phase], out_dir, phase, shape,
                                               source.name, progress)
            phase_skipped = [skip(name, reason) for name, reason in
                             listing['phases'][phase][1]] + phase_skipped
            summary[phase] = {'kept': kept, 'skipped': len(phase_skipped)}
            skipped += phase_skipped
    write_skipped(out_dir, skipped)
    _log_summary(dataset, summary)
    return summary


def _dataset_source(cfg):
    """(dataset, its source's row, its dataset_args section), checked."""
    dataset = cfg.get('dataset')
    try:
        source = source_of(dataset)
    except ConfigError as e:
        raise GenerateError(f'dataset {dataset!r} cannot be generated: {e}') from None
    args = (cfg.get('dataset_args') or {}).get(source.name)
    if not isinstance(args, dict):
        raise GenerateError(f'no settings for {dataset}: set dataset_args.{source.name} '
                            '(root_folder and where the data is)')
    if not args.get('root_folder'):
        raise GenerateError(f'no output folder: set dataset_args.{source.name}.root_folder')
    return dataset, source, args


def _log_summary(dataset, summary):
    extra = ''.join(f'; {summary[key]} {words}' for key, words in (
        ('bad_names', 'bad names'), ('ignored', 'on the ignore list'),
        ('unnamed', 'without frame_dir')) if summary.get(key))
    logger.info('%s: train kept %d, skipped %d; eval kept %d, skipped %d%s -> %s', dataset,
                summary['train']['kept'], summary['train']['skipped'],
                summary['eval']['kept'], summary['eval']['skipped'], extra,
                summary['out_dir'])


def _pool(num_workers, phases, read, settings):
    """Worker processes (every core when the config says 0 or nothing), each handed the phases'
    samples, the source's reader and the settings as it starts."""
    if not num_workers:   # the config's loader setting is often 0: use every core here
        num_workers = available_cores()
    return worker_pool(num_workers, initializer=_start_worker, initargs=(phases, read, settings))


# Per worker: the samples, reader and settings it was started with, and the open file of the
# split's .npy (workers write their samples into it directly).
_worker = {'phases': None, 'read': None, 'settings': None, 'path': None, 'fd': None}


def _start_worker(phases, read, settings):
    keep_freed_memory()
    _worker.update(phases=phases, read=read, settings=settings)


def _load_into(job):
    """In a worker: make one sample and write it at its byte position in the split's .npy.
    Returns (label, frames kept, warnings), or (None, None, [reason]) for a sample that cannot
    be used. Only a failing write raises: one odd sample cannot end the run."""
    phase, row, npy_path, position = job
    settings = _worker['settings']
    try:
        annotation = _worker['read'](_worker['phases'][phase][row][1])
        label = pose.read_label(annotation, settings['num_class'])
        data, length, warnings = pose.pose_sample(
            annotation, settings['num_joints'], settings['keypoint_dim'],
            settings['max_frame'], settings['transform'])
    except SkeletonError as e:
        return None, None, [e.reason]
    except PoseSampleError as e:
        return None, None, [str(e)]
    except Exception as e:   # noqa: BLE001 - report, skip, carry on
        return None, None, [f'unexpected {type(e).__name__}: {e}']
    if _worker['path'] != npy_path:
        if _worker['fd'] is not None:
            os.close(_worker['fd'])
        _worker.update(path=npy_path, fd=os.open(npy_path, os.O_WRONLY))
    write_at(_worker['fd'], np.ascontiguousarray(data), position)
    return label, length, warnings


def _write_split(pool, samples, out_dir, phase, shape, section, progress):
    """Stream the split's samples into {phase}_data.npy and write {phase}_label.pkl; returns
    (number kept, [(name, reason) skipped])."""
    rows, skipped = KeptRows(), []
    with split_array(out_dir, phase, len(samples), shape, section) as array:
        jobs = [(phase, row, str(array.partial), array.position(row))
                for row in range(len(samples))]
        results = pool.imap(_load_into, jobs, _CHUNKSIZE)
        with tqdm(total=len(samples), desc=phase, dynamic_ncols=True,
                  disable=not progress) as bar:
            for row, ((name, _), (label, length, notes)) in enumerate(zip(samples, results)):
                bar.update()
                if length is None:
                    skipped.append(skip(name, notes[0]))
                    continue
                if len(rows) < row:   # samples before it were skipped: move it up, no gap
                    array.move(row, len(rows))
                rows.keep(name, label, length, notes)
        array.complete(len(rows))
    rows.write_labels(out_dir, phase)
    return len(rows), skipped
