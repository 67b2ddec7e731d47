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


def open_samples(args, deploy, failures):
    data, names, labels = open_data_file(args.data_file, args.label_file, deploy)
    if data.shape[2] < deploy['num_frame']:
        warn(f'{args.data_file}: its samples have {data.shape[2]} frames, fewer than the '
             f'model\'s {deploy["num_frame"]}: zero-padded at the end, as -gd pads short clips')
    return ((name, padded(sample, deploy['num_frame']), label)
            for name, sample, label in zip(names, data, labels))


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
    if data.ndim == 4:
        data = data[None]
    if data.ndim != 5 or not sample_fits(data.shape[1:], deploy, short_clips=True):
        raise InferError(f'{path}: data of shape {data.shape} does not fit the model, which '
                         f'needs (N, C, T, V, M) = (N, {needed_shape(deploy, any_length=True)}) '
                         'as -gd writes, or one sample (C, T, V, M)')
    names = [f'sample_{i}' for i in range(len(data))]
    labels = [None] * len(data)
    if label_file:
        names, labels = read_label_file(label_file, len(data), deploy['num_class'])
    return data, names, labels


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
