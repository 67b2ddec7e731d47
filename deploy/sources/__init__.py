"""Input sources of infer.py, one module each. A source's `open_samples(args, deploy,
failures)` checks what it can before Paddle loads (raising InferError for the whole input) and
returns an iterator of (name, sample, label): sample (C, T, V, M) float32 prepared as -gd
prepares it, label the 0-based class or None when unknown. Inputs it cannot read are reported
as `error:` lines and appended to `failures`; the others go on.

A new kind of input is a new module here and one entry in SOURCES (and its option in
infer.py). Videos (`video`) are a source of whole clips, each many windows reported together:
its `open_videos` gives the files, cameras and streams, which infer.py runs through
deploy/video_pipeline.py."""
import numpy as np

from ..messages import report_error
from . import arrays, pose_file, skeleton, video

# infer.py option -> the source that reads it
SOURCES = {'skeleton': skeleton.open_samples, 'pose_file': pose_file.open_samples,
           'data_file': arrays.open_samples}
# infer.py option -> the source of whole clips that reads it
CLIP_SOURCES = {'video': video.open_videos}


def given_sources(args):
    """The source options given on the command line, in SOURCES' then CLIP_SOURCES' order."""
    return [name for name in (*SOURCES, *CLIP_SOURCES) if getattr(args, name, None)]


def open_samples(args, deploy, failures):
    """The samples of the one source given (None when none is: a bare --benchmark)."""
    given = [name for name in given_sources(args) if name in SOURCES]
    if not given:
        return None
    return finite_samples(SOURCES[given[0]](args, deploy, failures), failures)


def finite_samples(samples, failures):
    """The samples without NaN or infinite coordinates; each other one is an error line of its
    own (a model fed NaN answers NaN, which must never pass for a prediction)."""
    for name, sample, label in samples:
        bad = np.size(sample) - np.count_nonzero(np.isfinite(sample))
        if bad:
            report_error(name, f'{bad} non-finite value(s) (NaN or infinity) in the sample: '
                               'it is left out')
            failures.append(name)
            continue
        yield name, sample, label
