"""-gd: raw skeletons -> the arrays training reads.

Two sources, one output: NTU's .skeleton files (`dataset: ntu-*`) and pose-annotation pickles
of mmaction2 and pyskl (`dataset: pose-*`, reader/pose.py). Writes
<root_folder>/<original|transformed>/<dataset>/{train,eval}_data.npy (float32
N x 3 x frames x joints x 2; NTU: 300 frames, 25 joints) and {train,eval}_label.pkl = (sample
paths or ids, 0-based labels, frames kept), plus skipped.txt listing every sample that could not
be used and why.

NTU files: a process pool parses them; each worker writes its samples straight into the split's
.npy, preallocated by np.lib.format.open_memmap, at the file's row, and the main process, taking
results in file order, only moves a row up when files before it were skipped. Rows are written
with os.pwrite into that same file rather than through a memory map: on the 2-core VMs we run on,
page faults on a fresh mapping cost ~8x more kernel time than pwrite (0.35 vs 0.045 ms per
sample). No process holds more than a few samples, so memory stays flat however many files
there are. Every output is written under a temporary name and renamed when complete.
The C line scanner (reader/native.py) is built here, before the workers fork, so that they share
it; they also keep freed memory for reuse, since each file's arrays would otherwise be
page-faulted in afresh.

Pose annotations: a pickle can only be loaded whole, so the process holds the annotations (the
poses as the file stores them: a fraction of the arrays written); samples are converted one at
a time in this process (a few numpy operations each) and written the same way.
"""
import contextlib
import inspect
import io
import logging
import multiprocessing
import os
import pickle
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dataset import POSE, generated_data_folder, is_pose_dataset, pose_settings
from dataset.graphs import Graph
from errors import UserError
from reader import (PoseFileError, PoseSampleError, SampleNameError, SkeletonError, is_training,
                    load_annotations, load_sample, native, num_classes, parse_name, pose,
                    pose_sample, split_samples, uses_ntu120, write_synthetic_dataset)
from reader.ntu import BENCHMARKS, NAME_PATTERN
from reader.sample import MAX_BODY, MAX_FRAME
from reader.skeleton import NUM_JOINTS
from reader.synthetic_pose import write_synthetic_annotations
from runtime import keep_freed_memory

logger = logging.getLogger(__name__)

PHASES = ('train', 'eval')
SAMPLE_SHAPE = (3, MAX_FRAME, NUM_JOINTS, MAX_BODY)   # of an NTU sample
_CHUNKSIZE = 16   # files per pool task: amortises inter-process overhead, keeps order cheap


class GenerateError(UserError, ValueError):
    """A config or folder problem; main prints it as one line."""


def generate(cfg, progress=True):
    """Generate the train and eval arrays of cfg['dataset']; returns a summary dict:
    {'train': {'kept': n, 'skipped': n}, 'eval': {...}, 'bad_names': n, 'ignored': n,
    'out_dir': path}."""
    if is_pose_dataset(cfg.get('dataset')):
        return generate_from_annotations(cfg, progress)
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
    _write_skipped(out_dir, skipped)
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
            _write_synthetic(write_synthetic_dataset, folder, args['synthetic'], 'ntu')
        if not _has_skeletons(folder):
            raise GenerateError(f'{folder} holds no .skeleton files: set '
                                f'dataset_args.ntu.{key} to the folder of NTU skeletons')
        folders.append(str(folder))
    return folders


def _write_synthetic(writer, target, settings, section):
    """The demo configs' synthetic data: writer(target, **settings), whose arguments the
    config's `synthetic` entry holds."""
    logger.info('writing synthetic data to %s', target)
    try:
        writer(target, **settings)
    except TypeError as e:   # unknown or missing settings
        arguments = ', '.join(inspect.signature(writer).parameters)
        raise GenerateError(f'dataset_args.{section}.synthetic must hold {writer.__name__} '
                            f'arguments ({arguments.split(", ", 1)[1]}): {e}') from None


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


def _write_skipped(out_dir, skipped):
    """skipped.txt: one `path or id: reason` line per sample left out."""
    _atomic_write(out_dir / 'skipped.txt',
                  ''.join(f'{name}: {reason}\n' for name, reason in skipped).encode())


def _remove_old_outputs(out_dir):
    """A new run must never leave an earlier run's files beside its own."""
    for phase in PHASES:
        for name in (f'{phase}_label.pkl', f'{phase}_data.npy'):
            (out_dir / name).unlink(missing_ok=True)
    (out_dir / 'skipped.txt').unlink(missing_ok=True)


# ---- pose annotations -----------------------------------------------------------------------

PHASE_SPLITS = {'train': 'train_split', 'eval': 'eval_split'}


def generate_from_annotations(cfg, progress=True):
    """-gd for a pose-annotation dataset: the config's train and eval splits of its pickle(s)
    into the same arrays and label files as the NTU path; the same summary as generate()."""
    dataset, args = _pose_dataset_settings(cfg)
    settings = pose_settings(args)
    num_joints = Graph(settings['layout']).num_node
    phases = _phase_samples(_annotation_sources(args), settings)   # errors before any output
    out_dir = _output_folder(args, dataset)
    _remove_old_outputs(out_dir)
    summary = {'bad_names': 0, 'ignored': 0, 'out_dir': str(out_dir)}
    skipped = []
    for phase, (samples, missing) in phases.items():
        kept, phase_skipped = _write_pose_split(samples, out_dir, phase, settings, num_joints,
                                                progress)
        phase_skipped = [_skip(name, reason) for name, reason in missing] + phase_skipped
        summary[phase] = {'kept': kept, 'skipped': len(phase_skipped)}
        skipped += phase_skipped
    _write_skipped(out_dir, skipped)
    logger.info('%s: train kept %d, skipped %d; eval kept %d, skipped %d -> %s', dataset,
                summary['train']['kept'], summary['train']['skipped'],
                summary['eval']['kept'], summary['eval']['skipped'], out_dir)
    return summary


def _pose_dataset_settings(cfg):
    args = (cfg.get('dataset_args') or {}).get(POSE)
    if not isinstance(args, dict):
        raise GenerateError(f'no pose-annotation settings: set dataset_args.{POSE} (ann_file, '
                            'train_split, eval_split, layout, ...)')
    if not args.get('root_folder'):
        raise GenerateError(f'no output folder: set dataset_args.{POSE}.root_folder')
    return cfg['dataset'], args


def _annotation_sources(args):
    """phase -> (pickle path, split name). ann_file serves both phases; with eval_ann_file the
    eval samples come from that file instead. A file of a bare list is its split by itself."""
    ann_file = args.get('ann_file')
    if not ann_file:
        raise GenerateError(f'no annotation file: set dataset_args.{POSE}.ann_file to the pose '
                            'pickle (mmaction2 / pyskl format)')
    if args.get('synthetic') and not os.path.exists(ann_file):
        _write_synthetic(write_synthetic_annotations, ann_file, args['synthetic'], POSE)
    sources = {}
    for phase, key in PHASE_SPLITS.items():
        path = str(args.get('eval_ann_file') or ann_file) if phase == 'eval' else str(ann_file)
        sources[phase] = (path, args.get(key) or None)
    return sources


def _phase_samples(sources, settings):
    """phase -> ((id, annotation) pairs, (id, reason) of split ids that cannot be taken). A file
    with splits needs the config's split names; a bare list is its split by itself, so it
    cannot serve both phases."""
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
            raise GenerateError(f'{e}: set {key} to one of them') from None
    return phases


def _load_annotation_file(path, settings):
    """(annotations, splits) of the pickle, checked against the config's keypoint_dim."""
    logger.info('reading %s (a pickle loads whole: large files take a while)', path)
    try:
        annotations, splits = load_annotations(path)
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


def _write_pose_split(samples, out_dir, phase, settings, num_joints, progress):
    """The split's (id, annotation) pairs into {phase}_data.npy and {phase}_label.pkl; returns
    (number kept, [(id, reason) skipped])."""
    rows, skipped = _KeptRows(), []
    shape = (3, settings['max_frame'], num_joints, MAX_BODY)
    with split_array(out_dir, phase, len(samples), shape, POSE) as array:
        for name, annotation in tqdm(samples, desc=phase, dynamic_ncols=True,
                                     disable=not progress):
            try:
                label = pose.read_label(annotation, settings['num_class'])
                data, length, notes = pose_sample(
                    annotation, num_joints, settings['keypoint_dim'], settings['max_frame'],
                    settings['transform'])
            except PoseSampleError as e:
                skipped.append(_skip(name, str(e)))
                continue
            except Exception as e:   # noqa: BLE001 - report, skip, carry on, as for NTU files
                skipped.append(_skip(name, f'unexpected {type(e).__name__}: {e}'))
                continue
            array.write(len(rows), data)
            rows.keep(name, label, length, notes)
        array.complete(len(rows))
    rows.write_labels(out_dir, phase)
    return len(rows), skipped


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

class _SplitArray:
    """{phase}_data.npy being written: preallocated for `rows` samples under a temporary name,
    written row by row at byte positions; complete(kept) cuts it to the rows kept and renames
    it. Use through split_array(), which cleans up and names the file on a write error."""

    def __init__(self, out_dir, phase, rows, sample_shape):
        self.path = out_dir / f'{phase}_data.npy'
        self.partial = out_dir / f'{phase}_data.npy.partial'
        self.rows, self.sample_shape = rows, tuple(sample_shape)
        self.row_bytes = int(np.prod(self.sample_shape)) * 4   # float32
        self.offset = _preallocate(self.partial, rows, self.sample_shape)
        self.file = open(self.partial, 'r+b')

    def position(self, row):
        return self.offset + row * self.row_bytes

    def write(self, row, sample):
        _write_at(self.file.fileno(), np.ascontiguousarray(sample, np.float32),
                  self.position(row))

    def move(self, source, target):
        self.write(target, np.frombuffer(
            os.pread(self.file.fileno(), self.row_bytes, self.position(source)), np.float32))

    def complete(self, kept):
        self.file.close()
        _drop_rows_after(self.partial, kept)
        os.replace(self.partial, self.path)


@contextlib.contextmanager
def split_array(out_dir, phase, rows, sample_shape, section):
    array = None
    try:
        array = _SplitArray(out_dir, phase, rows, sample_shape)
        yield array
    except OSError as e:
        raise GenerateError(f'cannot write {out_dir / f"{phase}_data.npy"} ({e.strerror or e}): '
                            f'free some space or set dataset_args.{section}.root_folder to '
                            'another disk') from None
    finally:
        if array is not None:
            array.file.close()
            array.partial.unlink(missing_ok=True)   # only left when interrupted


class _KeptRows:
    """What {phase}_label.pkl lists of the rows written: sample paths or ids, labels, frames."""

    def __init__(self):
        self.names, self.labels, self.lengths = [], [], []

    def __len__(self):
        return len(self.names)

    def keep(self, name, label, length, notes):
        for note in notes:
            logger.warning('%s: %s', name, note)
        self.names.append(name)
        self.labels.append(label)
        self.lengths.append(length)

    def write_labels(self, out_dir, phase):
        _atomic_write(out_dir / f'{phase}_label.pkl',
                      pickle.dumps((self.names, self.labels, self.lengths)))
        if not self.names:
            logger.warning('the %s split is empty', phase)


def _write_split(pool, samples, out_dir, phase, transform, progress):
    """Stream the split's samples into {phase}_data.npy and write {phase}_label.pkl; returns
    (number kept, [(path, reason) skipped])."""
    rows, skipped = _KeptRows(), []
    with split_array(out_dir, phase, len(samples), SAMPLE_SHAPE, 'ntu') as array:
        jobs = [(path, str(array.partial), array.position(row), transform)
                for row, (path, _) in enumerate(samples)]
        results = pool.imap(_load_into, jobs, _CHUNKSIZE)
        with tqdm(total=len(samples), desc=phase, dynamic_ncols=True,
                  disable=not progress) as bar:
            for row, ((path, label), (length, notes)) in enumerate(zip(samples, results)):
                bar.update()
                if length is None:
                    skipped.append(_skip(path, notes[0]))
                    continue
                if len(rows) < row:   # files before it were skipped: move it up, no gap
                    array.move(row, len(rows))
                rows.keep(path, label, length, notes)
        array.complete(len(rows))
    rows.write_labels(out_dir, phase)
    return len(rows), skipped


def _preallocate(path, rows, sample_shape):
    """An all-zero .npy for `rows` samples, sized and headed by np.lib.format.open_memmap;
    returns the byte offset of its data."""
    array = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32,
                                      shape=(rows,) + tuple(sample_shape), version=(1, 0))
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
