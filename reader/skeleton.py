"""Parse one NTU RGB+D .skeleton file into joint positions.

Layout: the frame count, then per frame the body count and per body an info line, the joint
count (25) and 25 joint lines whose first three numbers are x y z (metres, camera space).
Speed matters (-gd reads ~114k files). The fast pass scans the file in C (native.py): the
token count and first three numbers of every line, from which the counts are walked and the
joint rows picked. Without the C scanner, the lines are read in Python and all joint lines go
through one numpy call that converts only their x y z columns; that pass expects the official
spacing. Files either pass refuses are tidied and parsed again line by line, which names the
problem.
"""
import functools
from pathlib import Path

import numpy as np

from . import native

NUM_JOINTS = 25
_LINES_PER_BODY = 2 + NUM_JOINTS   # info line, joint count, joint lines


class SkeletonError(ValueError):
    """A .skeleton file that cannot be read; `reason` says why in a few words."""

    def __init__(self, path, reason):
        super().__init__(f'{path}: {reason}')
        self.path = str(path)
        self.reason = reason


class _BadLine(Exception):
    """A problem at a row of the parsed text; `{line}` in the message becomes its line number."""

    def __init__(self, row, message):
        super().__init__(message)
        self.row = row
        self.message = message


def read_skeleton(path):
    """x y z of every body slot in every frame: float32 (bodies, frames, 25, 3).

    A body's slot is its position within its frame (the official reading); slots a frame does
    not fill stay zero. Raises SkeletonError for a file that cannot be read.
    """
    try:
        try:
            return _fast_pass(path)
        except _BadLine:
            pass   # irregular spacing or a bad file: the careful pass below names the problem
        rows = _read_lines(path)
    except OSError as e:
        raise SkeletonError(path, f'cannot read the file ({e.strerror})') from None
    # Tidy the rows and parse again, reporting original line numbers.
    numbers = [i for i, row in enumerate(rows) if row.strip()]
    tidy = [' '.join(rows[i].split()) for i in numbers]
    try:
        return _parse(path, tidy)
    except _BadLine as bad:
        raise SkeletonError(path, _reason(bad, numbers)) from None


def _fast_pass(path):
    """Parse a regular file quickly; raises _BadLine for anything else."""
    scan = native.line_scanner()
    if scan is not None:
        return _parse_scanned(path, *scan(Path(path).read_bytes()))
    return _parse(path, _read_lines(path))   # numpy: expects single spaces, no blank lines


def _read_lines(path):
    """The file's lines; any line ends (LF, CRLF, CR) read as LF."""
    try:
        with open(path, encoding='ascii') as f:
            return f.readlines()
    except UnicodeDecodeError:   # not text: read it anyway so that the bad value can be named
        with open(path, encoding='latin-1') as f:
            return f.readlines()


def _reason(bad, numbers):
    """The message of `bad` with its 1-based line number in the original file."""
    if bad.row < len(numbers):
        line = numbers[bad.row] + 1
    else:   # past the end: the line that is missing
        line = (numbers[-1] + 2 if numbers else 1) + bad.row - len(numbers)
    return bad.message.replace('{line}', str(line))


def _parse(path, rows):
    layout = _layout(path, functools.partial(_count, rows), len(rows))
    return _bodies(layout, _joint_xyz(rows, layout[3]))


def _parse_scanned(path, tokens, values):
    """The fast pass on the C scanner's output: (tokens per line, first three numbers)."""
    present = tokens > 0   # blank lines do not count
    if not present.all():
        tokens, values = tokens[present], values[present]
    first = values[:, 0]
    whole = (tokens == 1) & (first >= 0) & (first < 2**31) & (first == np.floor(first))
    counts = np.where(whole, first, -1).astype(np.int64).tolist()
    layout = _layout(path, functools.partial(_scanned_count, counts), len(counts))
    rows = (np.asarray(layout[3])[:, None] + np.arange(NUM_JOINTS)).ravel()
    xyz = values[rows]
    if (tokens[rows] < 3).any() or not np.isfinite(xyz).all():
        raise _BadLine(int(rows[0]), 'unreadable joint values')
    return _bodies(layout, xyz)


def _scanned_count(counts, row, what):
    """A count the scanner read as a lone whole number (otherwise -1)."""
    if row >= len(counts) or counts[row] < 0:
        raise _BadLine(row, f'{what} expected at line {{line}}')
    return counts[row]


def _bodies(layout, xyz):
    """Joint rows in file order -> float32 (bodies, frames, 25, 3), zero where no body."""
    num_frames, frames, slots, _ = layout
    bodies = np.zeros((max(slots) + 1, num_frames, NUM_JOINTS, 3), np.float32)
    bodies[slots, frames] = xyz.reshape(-1, NUM_JOINTS, 3)
    return bodies


def _layout(path, count, num_rows):
    """Walk the counts: for each body, its frame, its slot and the row of its first joint.
    `count(row, what)` reads the whole number on a row or raises _BadLine."""
    num_frames = count(0, 'frame count')
    if num_frames == 0:
        raise SkeletonError(path, 'zero frames')
    frames, slots, first_rows = [], [], []
    row = 1
    for frame in range(num_frames):
        num_bodies = count(row, 'body count')
        row += 1
        for slot in range(num_bodies):
            joints = count(row + 1, 'joint count')
            if joints != NUM_JOINTS:
                raise _BadLine(row + 1, f'joint count {joints} at line {{line}}, '
                                        f'expected {NUM_JOINTS}')
            frames.append(frame)
            slots.append(slot)
            first_rows.append(row + 2)
            row += _LINES_PER_BODY
    if row > num_rows:
        raise _BadLine(num_rows, 'truncated at line {line}')
    if not frames:
        raise SkeletonError(path, 'no body in any frame')
    return num_frames, frames, slots, first_rows


def _count(rows, row, what):
    """The whole number alone on a row."""
    if row >= len(rows):
        raise _BadLine(len(rows), 'truncated at line {line}')
    try:
        value = int(rows[row])
    except ValueError:
        raise _BadLine(row, f'{what} expected at line {{line}}, found '
                            f'{rows[row].strip()[:24]!r}') from None
    if value < 0:
        raise _BadLine(row, f'negative {what} at line {{line}}')
    return value


def _joint_xyz(rows, first_rows):
    """x y z of the joint rows of every body, in file order: float32 (bodies * 25, 3)."""
    joint_rows = []
    for first in first_rows:
        joint_rows += rows[first:first + NUM_JOINTS]
    try:
        xyz = np.loadtxt(joint_rows, dtype=np.float32, delimiter=' ', usecols=(0, 1, 2),
                         comments=None, ndmin=2)
    except ValueError:
        raise _first_bad_joint(rows, first_rows) from None
    if len(xyz) != len(joint_rows):   # loadtxt skips blank rows
        raise _first_bad_joint(rows, first_rows)
    if not np.isfinite(xyz).all():
        raise _first_bad_joint(rows, first_rows)
    return xyz


def _first_bad_joint(rows, first_rows):
    """Find what loadtxt refused, line by line (only for bad files, so speed does not matter)."""
    for first in first_rows:
        for row in range(first, first + NUM_JOINTS):
            values = rows[row].split()[:3]
            if len(values) < 3:
                if row == len(rows) - 1:
                    return _BadLine(row, 'truncated at line {line}')
                return _BadLine(row, f'{len(values)} values at line {{line}}, expected x y z ...')
            for value in values:
                try:
                    number = float(value)
                except ValueError:
                    number = None
                if number is None or not np.isfinite(number):
                    return _BadLine(row, f'non-numeric value {value[:24]!r} at line {{line}}')
    return _BadLine(first_rows[0], 'unreadable joint values from line {line}')
