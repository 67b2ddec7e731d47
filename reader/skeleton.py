"""Parse one NTU RGB+D .skeleton file into joint positions.

Layout: the frame count, then per frame the body count and per body an info line, the joint
count (25) and 25 joint lines whose first three numbers are x y z (metres, camera space).
Speed matters (-gd reads ~114k files): the counts are walked in Python, then all joint lines go
through one numpy call that converts only their x y z columns. That fast pass expects the
official spacing; other files are tidied and parsed again.
"""
import numpy as np

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
        rows = _read_lines(path)
    except OSError as e:
        raise SkeletonError(path, f'cannot read the file ({e.strerror})') from None
    try:
        return _parse(path, rows)
    except _BadLine:
        pass
    # The fast pass expects single spaces and no blank lines. Tidy the rows and parse again,
    # reporting original line numbers: only irregular or bad files get here.
    numbers = [i for i, row in enumerate(rows) if row.strip()]
    tidy = [' '.join(rows[i].split()) for i in numbers]
    try:
        return _parse(path, tidy)
    except _BadLine as bad:
        raise SkeletonError(path, _reason(bad, numbers)) from None


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
    num_frames, frames, slots, first_rows = _layout(path, rows)
    xyz = _joint_xyz(rows, first_rows)
    bodies = np.zeros((max(slots) + 1, num_frames, NUM_JOINTS, 3), np.float32)
    bodies[slots, frames] = xyz.reshape(-1, NUM_JOINTS, 3)
    return bodies


def _layout(path, rows):
    """Walk the counts: for each body, its frame, its slot and the row of its first joint."""
    num_frames = _count(rows, 0, 'frame count')
    if num_frames == 0:
        raise SkeletonError(path, 'zero frames')
    frames, slots, first_rows = [], [], []
    row = 1
    for frame in range(num_frames):
        num_bodies = _count(rows, row, 'body count')
        row += 1
        for slot in range(num_bodies):
            joints = _count(rows, row + 1, 'joint count')
            if joints != NUM_JOINTS:
                raise _BadLine(row + 1, f'joint count {joints} at line {{line}}, '
                                        f'expected {NUM_JOINTS}')
            frames.append(frame)
            slots.append(slot)
            first_rows.append(row + 2)
            row += _LINES_PER_BODY
    if row > len(rows):
        raise _BadLine(len(rows), 'truncated at line {line}')
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
