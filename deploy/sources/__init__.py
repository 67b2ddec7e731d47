"""Input sources of deployment, one module each. A source's `open_samples(what, ..., deploy,
failures)` checks what it can before Paddle loads (raising InferError for the whole input) and
returns an iterator of (name, sample, label): sample (C, T, V, M) float32 prepared as -gd
prepares it, label the 0-based class or None when unknown. Inputs it cannot read are reported
as `error:` lines and appended to `failures`; the others go on.

A new kind of input is a new module here, a `predict_...` method of deploy.Recognizer that
opens it, and its option in infer.py. Videos (`video`) are a source of whole clips, each many
windows reported together: its `open_videos` gives the files, cameras and streams, which the
Recognizer runs through deploy/video_pipeline.py."""
import numpy as np

from ..messages import report_error


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
