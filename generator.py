"""-gd: raw NTU .skeleton files -> the arrays training reads.

Writes <root_folder>/<original|transformed>/<dataset>/{train,eval}_data.npy (float32
N x 3 x 300 x 25 x 2) and {train,eval}_label.pkl = (sample paths, 0-based labels, frames kept),
samples sorted by file name, plus skipped.txt listing every file that could not be used.

A process pool parses the files; each worker writes its samples straight into the split's .npy,
preallocated by np.lib.format.open_memmap, at the file's row, and the main process, taking
results in file order, only moves a row up when files before it were skipped. Rows are written
with os.pwrite into that same file rather than through a memory map: on the 2-core VMs we run on,
page faults on a fresh mapping cost ~8x more kernel time than pwrite (0.35 vs 0.045 ms per
sample). No process holds more than a few samples, so memory stays flat however many files
there are. Every output is written under a temporary name and renamed when complete.
The C line scanner (reader/native.py) is built here, before the workers fork, so that they share
it; they also keep freed memory for reuse, since each file's arrays would otherwise be
page-faulted in afresh.
"""
import io
import logging
import multiprocessing
import os
import pickle
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dataset import generated_data_folder
from errors import UserError
from reader import (SampleNameError, SkeletonError, is_training, load_sample, native,
                    num_classes, parse_name, uses_ntu120, write_synthetic_dataset)
from reader.ntu import BENCHMARKS, NAME_PATTERN
from reader.sample import MAX_BODY, MAX_FRAME
from reader.skeleton import NUM_JOINTS
from runtime import keep_freed_memory

logger = logging.getLogger(__name__)

PHASES = ('train', 'eval')
SAMPLE_SHAPE = (3, MAX_FRAME, NUM_JOINTS, MAX_BODY)
_ROW_BYTES = int(np.prod(SAMPLE_SHAPE)) * 4   # float32
_CHUNKSIZE = 16   # files per pool task: amortises inter-process overhead, keeps order cheap


class GenerateError(UserError, ValueError):
    """A config or folder problem; main prints it as one line."""


def generate(cfg, progress=True):
    """Generate the train and eval arrays of cfg['dataset']; returns a summary dict:
    {'train': {'kept': n, 'skipped': n}, 'eval': {...}, 'bad_names': n, 'ignored': n,
    'out_dir': path}."""
    benchmark, args = _dataset_settings(cfg)
    folders = _source_folders(args, benchmark)
    ignored_names = _ignore_list(ignore_list_path(args.get('ignore_list'), benchmark))
    splits, bad_names, ignored = _assign_splits(folders, ignored_names, benchmark)
    num_ignored = sum(len(paths) for paths in ignored.values())
    out_dir = _output_folder(args, benchmark)
    _remove_old_outputs(out_dir)

    summary = {'bad_names': len(bad_names), 'ignored': num_ignored, 'out_dir': str(out_dir)}
    skipped = list(bad_names) + [(path, IGNORED_REASON) for phase in PHASES
                                 for path in ignored[phase]]
    with _pool(args.get('num_workers')) as pool:
        for phase in PHASES:
            kept, phase_skipped = _write_split(pool, splits[phase], out_dir, phase,
                                               bool(args.get('transform')), progress)
            summary[phase] = {'kept': kept, 'skipped': len(phase_skipped)}
            skipped += phase_skipped
    _atomic_write(out_dir / 'skipped.txt',
                  ''.join(f'{path}: {reason}\n' for path, reason in skipped).encode())
    logger.info('%s: train kept %d, skipped %d; eval kept %d, skipped %d; %d bad names, '
                '%d on the ignore list -> %s', benchmark, summary['train']['kept'],
                summary['train']['skipped'], summary['eval']['kept'],
                summary['eval']['skipped'], len(bad_names), num_ignored, out_dir)
    return summary


# ---- config ---------------------------------------------------------------------------------

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
            _write_synthetic(folder, args['synthetic'])
        if not _has_skeletons(folder):
            raise GenerateError(f'{folder} holds no .skeleton files: set '
                                f'dataset_args.ntu.{key} to the folder of NTU skeletons')
        folders.append(str(folder))
    return folders


def _write_synthetic(folder, settings):
    logger.info('writing synthetic skeletons to %s', folder)
    try:
        write_synthetic_dataset(folder, **settings)
    except TypeError as e:   # unknown or missing settings
        raise GenerateError(f'dataset_args.ntu.synthetic must hold write_synthetic_dataset '
                            f'arguments (actions, samples_per_action, frames, seed): {e}') from None


def _has_skeletons(folder):
    if not os.path.isdir(folder):
        return False
    with os.scandir(folder) as entries:
        return any(e.name.endswith('.skeleton') for e in entries)


IGNORE_LISTS = Path(__file__).resolve().parent / 'dataset' / 'ignore_lists'
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


def _output_folder(args, benchmark):
    out_dir = generated_data_folder(args, benchmark)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _remove_old_outputs(out_dir):
    """A new run must never leave an earlier run's files beside its own."""
    for phase in PHASES:
        for name in (f'{phase}_label.pkl', f'{phase}_data.npy'):
            (out_dir / name).unlink(missing_ok=True)
    (out_dir / 'skipped.txt').unlink(missing_ok=True)


# ---- files and splits -----------------------------------------------------------------------

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
            bad_names.append(_skip(path, str(e)))
            continue
        phase = 'train' if is_training(fields, benchmark) else 'eval'
        if name[:-len('.skeleton')] in ignored_names:
            ignored[phase].append(path)
            continue
        if fields['action'] > classes:
            bad_names.append(_skip(path, f'action {fields["action"]} is not one of the '
                                         f'{classes} classes of {benchmark}'))
            continue
        splits[phase].append((path, fields['action'] - 1))
    if ignored_names:
        logger.info('ignored %d train and %d eval samples named in the ignore list '
                    '(listed in skipped.txt)', len(ignored['train']), len(ignored['eval']))
    return splits, bad_names, ignored


def _skip(path, reason):
    logger.warning('skipped %s: %s', path, reason)
    return path, reason


# ---- parallel reading -----------------------------------------------------------------------

def _pool(num_workers):
    """Worker processes; fork where available so workers start at once without re-importing."""
    if not num_workers:   # the config's loader setting is often 0: use every core here
        num_workers = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
            else os.cpu_count()
    native.line_scanner()   # build or load it once, before forking
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context('fork' if 'fork' in methods else None)
    return context.Pool(int(num_workers), initializer=keep_freed_memory)


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
    _write_at(_output['fd'], np.ascontiguousarray(data), position)
    return length, warnings


def _write_at(fd, buffer, position):
    written = os.pwrite(fd, buffer, position)
    if written != memoryview(buffer).nbytes:
        raise OSError(f'short write ({written} bytes)')


# ---- writing --------------------------------------------------------------------------------

def _write_split(pool, samples, out_dir, phase, transform, progress):
    """Stream the split's samples into {phase}_data.npy and write {phase}_label.pkl; returns
    (number kept, [(path, reason) skipped])."""
    data_path = out_dir / f'{phase}_data.npy'
    partial = out_dir / f'{phase}_data.npy.partial'
    paths, labels, lengths, skipped = [], [], [], []
    try:
        offset = _preallocate(partial, len(samples))
        jobs = [(path, str(partial), offset + row * _ROW_BYTES, transform)
                for row, (path, _) in enumerate(samples)]
        results = pool.imap(_load_into, jobs, _CHUNKSIZE)
        with open(partial, 'r+b') as out, tqdm(total=len(samples), desc=phase,
                                                 dynamic_ncols=True, disable=not progress) as bar:
            for row, ((path, label), (length, notes)) in enumerate(zip(samples, results)):
                bar.update()
                if length is None:
                    skipped.append(_skip(path, notes[0]))
                    continue
                for note in notes:
                    logger.warning('%s: %s', path, note)
                if len(paths) < row:   # files before it were skipped: move it up, no gap
                    sample = os.pread(out.fileno(), _ROW_BYTES, offset + row * _ROW_BYTES)
                    _write_at(out.fileno(), sample, offset + len(paths) * _ROW_BYTES)
                paths.append(path)
                labels.append(label)
                lengths.append(length)
        _drop_rows_after(partial, len(paths))
        os.replace(partial, data_path)
    except OSError as e:
        raise GenerateError(f'cannot write {data_path} ({e.strerror or e}): free some space or '
                            f'set dataset_args.ntu.root_folder to another disk') from None
    finally:
        partial.unlink(missing_ok=True)   # only left when interrupted
    _atomic_write(out_dir / f'{phase}_label.pkl', pickle.dumps((paths, labels, lengths)))
    if not paths:
        logger.warning('the %s split is empty', phase)
    return len(paths), skipped


def _preallocate(path, rows):
    """An all-zero .npy for `rows` samples, sized and headed by np.lib.format.open_memmap;
    returns the byte offset of its data."""
    array = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32,
                                      shape=(rows,) + SAMPLE_SHAPE, version=(1, 0))
    offset = array.offset
    del array
    return offset


def _drop_rows_after(path, rows):
    """Shrink a .npy file to its first `rows` rows (skipped files leave unused rows at the
    end): rewrite the shape in the header, which keeps its length, and cut the file."""
    with open(path, 'r+b') as f:
        np.lib.format.read_magic(f)
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        offset = f.tell()
        if shape[0] == rows:
            return
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {
            'descr': np.lib.format.dtype_to_descr(dtype), 'fortran_order': fortran_order,
            'shape': (rows,) + shape[1:]})
        if header.tell() != offset:
            raise RuntimeError(f'{path}: the .npy header changed length')
        f.seek(0)
        f.write(header.getvalue())
        f.truncate(offset + rows * int(np.prod(shape[1:])) * dtype.itemsize)


def _atomic_write(path, content):
    partial = Path(f'{path}.partial')
    partial.write_bytes(content)
    os.replace(partial, path)
