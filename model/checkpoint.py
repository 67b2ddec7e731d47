"""Checkpoints into a model, whoever wrote them: this repository's `.pdparams`, other Paddle
ports' files, and the authors' PyTorch `.pth.tar` (torch_checkpoint.py), none of them read
with anything that could run code the file names (utils/safe_pickle.py).

What a file is comes from its bytes, never its name (ports save Paddle pickles as `.pth.tar` or
`.pdparams.tar`): a zip archive with `data.pkl` is PyTorch's format, a pickle that starts with
PyTorch's magic number its older format, any other pickle a Paddle file.

The model state is the file's `model` (or `state_dict`) entry, or the file itself: a dict or a
list of (name, array) pairs, whose values are arrays or Paddle's (parameter name, array) pairs.
PyTorch's names become Paddle's wherever they occur: running_mean -> _mean, running_var ->
_variance, a DataParallel `module.` prefix taken off; num_batches_tracked counters (PyTorch's
batch norms count their steps, Paddle's do not) are dropped with one log line.
"""
import logging
import zipfile
from pathlib import Path

import numpy as np

from utils.errors import UserError

from utils.safe_pickle import DATA_NAMES, ForbiddenName, SafeUnpickler
from .torch_checkpoint import (LEGACY_MAGIC_BYTES, read_legacy_checkpoint, read_zip_checkpoint,
                               zip_pickle_name)

logger = logging.getLogger(__name__)

CLASSIFIER_KEYS = ('classifier.fc.weight', 'classifier.fc.bias')
_BATCH_NORM_NAMES = {'running_mean': '_mean', 'running_var': '_variance'}
_COUNTER = 'num_batches_tracked'
_HEAD_BYTES = 64
FORMATS = {'zip': 'a PyTorch zip checkpoint', 'legacy': 'a PyTorch checkpoint in its older format',
           'pickle': 'a Paddle pickle'}


def file_format(path):
    """'zip', 'legacy' or 'pickle' from the file's first bytes; a UserError for anything else."""
    with open(path, 'rb') as f:
        head = f.read(_HEAD_BYTES)
    if not head:
        raise UserError(f'checkpoint {path} is empty (0 bytes): it was not written to the end; '
                        'give the file again')
    if head.startswith(b'PK'):
        return 'zip'
    if LEGACY_MAGIC_BYTES in head[:32]:
        return 'legacy'
    if head[:1] == b'\x80':
        return 'pickle'
    raise UserError(f'checkpoint {path} is neither a Paddle nor a PyTorch checkpoint: it is not a '
                    f'pickle or a zip archive (it starts with {head[:8]!r})')


class _RandomState:
    """A Paddle random generator's state in a run checkpoint (for -r, which paddle.load reads):
    kept as nothing here, where only the weights matter."""

    def __setstate__(self, state):
        pass


class _PaddleUnpickler(SafeUnpickler):
    """The safe unpickler, with the generator states that paddle.save writes into this
    repository's run checkpoints (each config's checkpoint.pdparams) read as nothing."""
    names = {**DATA_NAMES, **{(f'paddle.{package}', 'GeneratorState'): _RandomState
                              for package in ('base.libpaddle', 'fluid.libpaddle',
                                              'fluid.core_avx', 'fluid.core_noavx')}}


def _read_pickle(path):
    with open(path, 'rb') as f:
        return _PaddleUnpickler(f).load()


def _read_zip(path):
    if not zipfile.is_zipfile(path):
        raise EOFError('its zip directory is missing (cut short?)')
    with zipfile.ZipFile(path) as archive:
        if zip_pickle_name(archive) is None:
            raise UserError(f'checkpoint {path} is a zip archive without data.pkl, so not one '
                            'torch.save wrote: give the .pth.tar or .pdparams of a trained model')
    return read_zip_checkpoint(path)


_READERS = {'zip': _read_zip, 'legacy': read_legacy_checkpoint, 'pickle': _read_pickle}


def read_file(path):
    """The object the checkpoint file holds, tensors as numpy arrays; every failure is a
    UserError naming the file and what it is."""
    if not path:
        raise UserError('no checkpoint given: pass its path with -pp')
    if not Path(path).exists():
        raise UserError(f'checkpoint {path} does not exist')
    if not Path(path).is_file():
        raise UserError(f'checkpoint {path} is a folder, not a file: give the checkpoint file')
    kind = file_format(path)
    try:
        return _READERS[kind](path)
    except UserError:
        raise
    except ForbiddenName as e:
        raise UserError(e.refusal(f'checkpoint {path} ({FORMATS[kind]})', 'checkpoint')) from None
    except Exception as e:   # noqa: BLE001 - a damaged file fails in zipfile and pickle many ways
        message = str(e).strip().splitlines()[0] if str(e).strip() else 'no message'
        raise UserError(f'checkpoint {path} ({FORMATS[kind]}) cannot be read: it is cut short or '
                        f'damaged ({type(e).__name__}: {message})') from None


def load_checkpoint(path):
    """The checkpoint as a dict: `model` the model state in Paddle's names (numpy arrays), the
    file's other entries (epoch, best_state, optimizer, ...) as it holds them."""
    loaded = read_file(path)
    if _is_pairs(loaded):
        loaded = {'model': loaded}
    if not isinstance(loaded, dict):
        raise UserError(f'checkpoint {path} holds a {type(loaded).__name__}, not a dict of '
                        'weights')
    state, counters = _paddle_state(_state_entry(loaded))
    if not state:
        entries = ', '.join(map(str, list(loaded)[:8])) or 'none'
        raise UserError(f'checkpoint {path} holds no model weights (no model entry; its '
                        f'entries: {entries})')
    if counters:
        logger.info('%s: left out %d num_batches_tracked counters (PyTorch\'s batch norms count '
                    'their steps; Paddle\'s have no such buffer)', path, counters)
    return {**loaded, 'model': state}


def model_state_of(checkpoint):
    return checkpoint['model'] if isinstance(checkpoint.get('model'), dict) else checkpoint


def record_of(checkpoint):
    """The checkpoint's own record, e.g. 'epoch 66, top-1 89.87%'; '' when it keeps none."""
    best = checkpoint.get('best_state')
    best = best if isinstance(best, dict) else {}
    parts = []
    epoch = checkpoint.get('epoch', best.get('epoch'))
    if isinstance(epoch, (int, np.integer)) and not isinstance(epoch, bool):
        parts.append(f'epoch {int(epoch)}')
    top1 = best.get('acc_top1')
    if isinstance(top1, (float, int, np.number)) and not isinstance(top1, bool) and 0 < top1 <= 1:
        parts.append(f'top-1 {100 * float(top1):.2f}%')
    return ', '.join(parts)


def _is_pairs(value):
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
        for item in value)


def _state_entry(loaded):
    for key in ('model', 'state_dict'):
        if isinstance(loaded.get(key), dict) or _is_pairs(loaded.get(key)):
            return loaded[key]
    return loaded


def _array(value):
    """An array of the state: as it is, from Paddle's (parameter name, array) pair, or a numpy
    scalar; None for anything else."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        value = value[1]
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return None


def _paddle_state(entries):
    """(state in Paddle's names, number of num_batches_tracked counters dropped)."""
    items = entries.items() if isinstance(entries, dict) else entries
    state, counters = {}, 0
    for key, value in items:
        value = _array(value)
        if not isinstance(key, str) or value is None:
            continue
        if key.startswith('module.'):
            key = key[len('module.'):]
        prefix, _, last = key.rpartition('.')
        if last == _COUNTER:
            counters += 1
            continue
        last = _BATCH_NORM_NAMES.get(last, last)
        state[f'{prefix}.{last}' if prefix else last] = value
    return state, counters


def state_misfits(model_shapes, state):
    """How `state` differs from a model whose keys have `model_shapes` (key -> shape list):
    (missing keys, unexpected keys, [(key, state's shape, model's shape)])."""
    missing = [key for key in model_shapes if key not in state]
    unexpected = [key for key in state if key not in model_shapes]
    differ = [(key, list(np.shape(state[key])), shape) for key, shape in model_shapes.items()
              if key in state and list(np.shape(state[key])) != shape]
    return missing, unexpected, differ


def shapes_of(net):
    return {key: list(value.shape) for key, value in net.state_dict().items()}


def _only_the_class_count(differ):
    """Whether the shapes that differ are the classifier's, in its number of classes alone."""
    return bool(differ) and all(key in CLASSIFIER_KEYS and theirs[1:] == ours[1:]
                                for key, theirs, ours in differ)


def load_model_state(net, state, source, new_classifier=False):
    """Load `state` into `net` after checking every key and shape; a misfit is a UserError
    naming the first. With new_classifier, a classifier with another number of classes is left
    out and the model's own kept: returns [(key, checkpoint's shape, model's shape)] left out."""
    missing, unexpected, differ = state_misfits(shapes_of(net), state)
    left_out = []
    if new_classifier and not missing and not unexpected and _only_the_class_count(differ):
        left_out, differ = differ, []
    misfit = f'checkpoint {source} does not fit this config\'s model'
    if missing:
        raise UserError(f'{misfit}: missing key {missing[0]}')
    if differ:
        key, theirs, ours = differ[0]
        head = f' (a classifier for {theirs[0]} classes: training from it starts a new one for ' \
               f'this config\'s {ours[0]})' if _only_the_class_count(differ) else ''
        raise UserError(f'{misfit}: key {key} has shape {theirs}, the model needs {ours}{head}')
    if unexpected:
        raise UserError(f'{misfit}: unexpected key {unexpected[0]}')
    skipped = {key for key, _, _ in left_out}
    net.set_state_dict({key: value for key, value in state.items() if key not in skipped})
    return left_out


def load_run_checkpoint(path):
    """This program's own resumable checkpoint (utils.runs.checkpoint_path), for -r: read by
    paddle.load, as it holds the random generators' states, which only Paddle rebuilds. -r
    takes any path, so the file is read by the safe unpickler first: paddle.load unpickles
    without restriction, and only a file that names nothing else reaches it."""
    import paddle
    if not Path(path).is_file():
        raise UserError(f'checkpoint {path} does not exist')
    read_file(path)
    try:
        checkpoint = paddle.load(str(path))
    except Exception as e:  # noqa: BLE001 - paddle raises many kinds on a damaged file
        raise UserError(f'checkpoint {path} cannot be read ({type(e).__name__}): it may be cut '
                        'short') from None
    if not isinstance(checkpoint, dict):
        raise UserError(f'checkpoint {path} holds a {type(checkpoint).__name__}, not a dict')
    return checkpoint
