"""NTU RGB+D sample names (SsssCcccPpppRrrrAaaa) and the official benchmark splits."""
import os
import re

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
