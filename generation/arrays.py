"""The arrays -gd writes, whatever the source: {phase}_data.npy (float32 N x 3 x frames x
joints x 2), {phase}_label.pkl = (sample paths or ids, 0-based labels, frames kept) and
skipped.txt (one `path or id: reason` line per sample left out).

A split's .npy is preallocated for every sample under a temporary name, written row by row at
byte positions (os.pwrite: on the 2-core VMs we run on, page faults on a fresh memory map cost
~8x more kernel time, 0.35 vs 0.045 ms per sample), cut to the rows kept and renamed when
complete, so a crash never leaves a file that looks complete.
"""
import contextlib
import io
import logging
import os
import pickle

import numpy as np

from dataset import generated_data_folder
from utils.errors import UserError
from utils.files import atomic_write_bytes

logger = logging.getLogger(__name__)

PHASES = ('train', 'eval')


class GenerateError(UserError, ValueError):
    """A config or folder problem; main prints it as one line."""


def skip(path, reason):
    """Log a sample left out; returns the (path or id, reason) pair skipped.txt lists."""
    logger.warning('skipped %s: %s', path, reason)
    return path, reason


def output_folder(args, benchmark):
    out_dir = generated_data_folder(args, benchmark)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def write_skipped(out_dir, skipped):
    """skipped.txt: one `path or id: reason` line per sample left out."""
    atomic_write_bytes(''.join(f'{name}: {reason}\n' for name, reason in skipped).encode(),
                       out_dir / 'skipped.txt')


def remove_old_outputs(out_dir):
    """A new run must never leave an earlier run's files beside its own."""
    for phase in PHASES:
        for name in (f'{phase}_label.pkl', f'{phase}_data.npy'):
            (out_dir / name).unlink(missing_ok=True)
    (out_dir / 'skipped.txt').unlink(missing_ok=True)


def write_at(fd, buffer, position):
    written = os.pwrite(fd, buffer, position)
    if written != memoryview(buffer).nbytes:
        raise OSError(f'short write ({written} bytes)')


class SplitArray:
    """{phase}_data.npy being written: preallocated for `rows` samples under a temporary name,
    written row by row at byte positions; complete(kept) cuts it to the rows kept and renames
    it. Use through split_array(), which cleans up and names the file on a write error."""

    def __init__(self, out_dir, phase, rows, sample_shape):
        self.path = out_dir / f'{phase}_data.npy'
        self.partial = out_dir / f'{phase}_data.npy.partial'
        self.rows, self.sample_shape = rows, tuple(sample_shape)
        self.row_bytes = int(np.prod(self.sample_shape)) * 4   # float32
        self.offset = preallocate(self.partial, rows, self.sample_shape)
        self.file = open(self.partial, 'r+b')

    def position(self, row):
        return self.offset + row * self.row_bytes

    def write(self, row, sample):
        write_at(self.file.fileno(), np.ascontiguousarray(sample, np.float32),
                  self.position(row))

    def move(self, source, target):
        self.write(target, np.frombuffer(
            os.pread(self.file.fileno(), self.row_bytes, self.position(source)), np.float32))

    def complete(self, kept):
        self.file.close()
        drop_rows_after(self.partial, kept)
        os.replace(self.partial, self.path)


@contextlib.contextmanager
def split_array(out_dir, phase, rows, sample_shape, section):
    array = None
    try:
        array = SplitArray(out_dir, phase, rows, sample_shape)
        yield array
    except OSError as e:
        raise GenerateError(f'cannot write {out_dir / f"{phase}_data.npy"} ({e.strerror or e}): '
                            f'free some space or set dataset_args.{section}.root_folder to '
                            'another disk') from None
    finally:
        if array is not None:
            array.file.close()
            array.partial.unlink(missing_ok=True)   # only left when interrupted


class KeptRows:
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
        atomic_write_bytes(pickle.dumps((self.names, self.labels, self.lengths)),
                           out_dir / f'{phase}_label.pkl')
        if not self.names:
            logger.warning('the %s split is empty', phase)


def preallocate(path, rows, sample_shape):
    """An all-zero .npy for `rows` samples, sized and headed by np.lib.format.open_memmap;
    returns the byte offset of its data."""
    array = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32,
                                      shape=(rows,) + tuple(sample_shape), version=(1, 0))
    offset = array.offset
    del array
    return offset


def drop_rows_after(path, rows):
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
