"""Arrays as -gd writes them: `{phase}_data.npy` (N, C, T, V, M) with its `{phase}_label.pkl`
(names, labels[, lengths]); also one sample (C, T, V, M), as PaddleVideo's example arrays are,
taken as a batch of one. Clips shorter than the model's frames are zero-padded at the end, as -gd
pads them."""
from pathlib import Path

import numpy as np

import reader
from utils import safe_pickle
from ..messages import InferError, warn
from ..model_config import needed_shape, sample_fits


def open_samples(data, label_file, deploy, failures, names=None, labels=None):
    """(name, sample, label) of a {phase}_data.npy path (names and labels from its label file)
    or of an array (N, C, T, V, M) or (C, T, V, M), named and labelled by `names` and `labels`
    when given."""
    source = data if isinstance(data, (str, Path)) else 'the array given'
    if isinstance(data, (str, Path)):
        data, names, labels = open_data_file(data, label_file, deploy)
    else:
        data = fitting_data(np.asarray(data, np.float32), source, deploy)
        names, labels = given_names(len(data), names, labels, deploy['num_class'])
    if data.shape[2] < deploy['num_frame']:
        warn(f'{source}: its samples have {data.shape[2]} frames, fewer than the '
             f'model\'s {deploy["num_frame"]}: zero-padded at the end, as -gd pads short clips')
    return ((name, padded(sample, deploy['num_frame']), label)
            for name, sample, label in zip(names, data, labels))


def given_names(count, names, labels, num_class):
    """The names (default sample_<i>) and labels (default unknown) of `count` samples."""
    names = [f'sample_{i}' for i in range(count)] if names is None else [str(n) for n in names]
    labels = [None] * count if labels is None else [int(label) for label in labels]
    if len(names) != count or len(labels) != count:
        raise InferError(f'{count} samples but {len(names)} names and {len(labels)} labels')
    outside = [label for label in labels if label is not None and not 0 <= label < num_class]
    if outside:
        raise InferError(f'label {outside[0]} given, but the model has {num_class} classes')
    return names, labels


def padded(sample, num_frame):
    """(C, T, V, M) with zero frames appended up to num_frame, as -gd writes a short clip."""
    missing = num_frame - sample.shape[1]
    if missing <= 0:
        return sample
    return np.pad(np.asarray(sample, np.float32), ((0, 0), (0, missing), (0, 0), (0, 0)))


def open_data_file(data_file, label_file, deploy):
    """Memory-mapped (N, C, T, V, M) array (one (C, T, V, M) sample as N = 1), sample names and
    labels (None when unknown)."""
    path = Path(data_file)
    if not path.is_file():
        raise InferError(f'data file {path} does not exist')
    try:
        data = np.load(path, mmap_mode='r')
    except (ValueError, OSError):
        raise InferError(f'data file {path} is not a .npy array') from None
    data = fitting_data(data, path, deploy)
    names, labels = given_names(len(data), None, None, deploy['num_class'])
    if label_file:
        names, labels = read_label_file(label_file, len(data), deploy['num_class'])
    return data, names, labels


def fitting_data(data, source, deploy):
    """(N, C, T, V, M) data that fits the model (one (C, T, V, M) sample as N = 1)."""
    if data.ndim == 4:
        data = data[None]
    if data.ndim != 5 or not sample_fits(data.shape[1:], deploy, short_clips=True):
        raise InferError(f'{source}: data of shape {data.shape} does not fit the model, which '
                         f'needs (N, C, T, V, M) = (N, {needed_shape(deploy, any_length=True)}) '
                         'as -gd writes, or one sample (C, T, V, M)')
    return data


def read_label_file(path, num_samples, num_class):
    """Names and labels of a label pickle: (names, labels) or -gd's (names, labels, lengths)."""
    if not Path(path).is_file():
        raise InferError(f'label file {path} does not exist')
    try:
        content = safe_pickle.load(path)
        paths, labels = content[:2]
        if len(content) not in (2, 3):
            raise ValueError
    except safe_pickle.ForbiddenName as e:
        raise InferError(e.refusal(path, 'label file')) from None
    except Exception as e:   # pickle raises many kinds on a file it cannot read
        raise InferError(f'label file {path} is not a (names, labels) or (names, labels, '
                         f'lengths) pickle ({type(e).__name__})') from None
    if len(paths) != num_samples or len(labels) != num_samples:
        raise InferError(f'label file {path} lists {len(labels)} samples but the data file '
                         f'holds {num_samples}')
    outside = [int(label) for label in labels if not 0 <= int(label) < num_class]
    if outside:
        raise InferError(f'label file {path} has label {outside[0]}, but the model has '
                         f'{num_class} classes')
    return [reader.row_name(p) for p in paths], [int(label) for label in labels]
