"""NTU RGB+D: sample names (SsssCcccPpppRrrrAaaa), the official benchmark splits and their
numbers of classes, and a .skeleton file as a pose annotation (reader/pose.py), from which
pose_sample makes the sample (the two most energetic bodies, as the official code keeps)."""
import os
import re

from .pose import pose_sample
from .sample import MAX_BODY, MAX_FRAME
from .skeleton import NUM_JOINTS, read_skeleton

NAME_PATTERN = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')
FIELDS = ('setup', 'camera', 'performer', 'replication', 'action')

XSUB_TRAINING_PERFORMERS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38))
XSUB120_TRAINING_PERFORMERS = XSUB_TRAINING_PERFORMERS | frozenset(
    (45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85,
     86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103))
XVIEW_TRAINING_CAMERAS = frozenset((2, 3))

# benchmark -> (is a sample of the training split, number of action classes)
BENCHMARKS = {
    'ntu-xsub': (lambda f: f['performer'] in XSUB_TRAINING_PERFORMERS, 60),
    'ntu-xview': (lambda f: f['camera'] in XVIEW_TRAINING_CAMERAS, 60),
    'ntu-xsub120': (lambda f: f['performer'] in XSUB120_TRAINING_PERFORMERS, 120),
    'ntu-xset120': (lambda f: f['setup'] % 2 == 0, 120),
}


class SampleNameError(ValueError):
    """A file name that is not an NTU sample name."""


def sample_stem(filename):
    """A sample's name: the file name without folder and extensions (S001C002P003R002A013)."""
    return os.path.basename(str(filename)).split('.')[0]


def row_name(path_or_id):
    """The name of a row of a generated label file: NTU rows are listed by file path and named
    by the file's stem; pose-annotation rows by their sample id, kept as it is."""
    text = str(path_or_id)
    return sample_stem(text) if text.endswith('.skeleton') else text


def parse_name(filename):
    """'S001C002P003R002A013.skeleton' -> dict(setup=1, camera=2, performer=3, replication=2,
    action=13). Any folder and extension are ignored."""
    stem = sample_stem(filename)
    match = NAME_PATTERN.fullmatch(stem)
    if match is None:
        raise SampleNameError(f'name {stem!r} lacks the SsssCcccPpppRrrrAaaa fields')
    fields = dict(zip(FIELDS, map(int, match.groups())))
    if fields['action'] == 0:
        raise SampleNameError(f'name {stem!r} has action 0 (actions count from 1)')
    return fields


def check_benchmark(benchmark):
    if benchmark not in BENCHMARKS:
        raise ValueError(f'unknown benchmark {benchmark!r}; known: {", ".join(BENCHMARKS)}')


def is_training(fields, benchmark):
    """Whether a sample (fields from parse_name) is in the training split of the benchmark."""
    check_benchmark(benchmark)
    return BENCHMARKS[benchmark][0](fields)


def num_classes(benchmark):
    check_benchmark(benchmark)
    return BENCHMARKS[benchmark][1]


def uses_ntu120(benchmark):
    """NTU-120 benchmarks read both the NTU-60 and the NTU-120 folders."""
    return num_classes(benchmark) == 120


def skeleton_annotation(path):
    """A .skeleton file as a pose annotation: keypoint (body slots, frames, 25, x y z), the
    sample's name as frame_dir and, when the name is NTU's, the 0-based action as label (else
    None). Raises SkeletonError for a file that cannot be read."""
    keypoint = read_skeleton(path)
    try:
        label = parse_name(path)['action'] - 1
    except SampleNameError:
        label = None
    return {'frame_dir': sample_stem(path), 'label': label, 'keypoint': keypoint,
            'total_frames': keypoint.shape[1]}


def load_sample(path, max_frame=MAX_FRAME, max_body=MAX_BODY, transform=False):
    """Read a .skeleton file as the model reads it: (data float32 (3, max_frame, 25, max_body)
    i.e. C, T, V, M, number of frames kept, list of warnings). Frames past `max_frame` are
    dropped with a warning; `transform` applies the X-view pre-normalisation. Raises
    SkeletonError for a file that cannot be read."""
    return pose_sample(skeleton_annotation(path), NUM_JOINTS, 3, max_frame, transform, max_body)
