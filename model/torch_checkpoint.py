"""The official PyTorch checkpoints (`.pth.tar`, written by `torch.save`), read without PyTorch.

Since PyTorch 1.6 `torch.save` writes a zip archive: `<name>/data.pkl`, a pickle whose tensors
refer to raw storages stored as `<name>/data/<key>` (little-endian), plus version records. The
pickle is read here with the few PyTorch names it uses mapped to numpy: each tensor becomes a
numpy array of its storage's values at its offset, shape and strides. PyTorch's older
(non-zip) format needs PyTorch itself, which is used when installed.

The official state dict (key `model`, or the file itself) uses PyTorch's batch-norm names; they
become Paddle's: running_mean -> _mean, running_var -> _variance, num_batches_tracked dropped,
and a DataParallel `module.` prefix is taken off.
"""
import builtins
import collections
import pickle
import zipfile

import numpy as np

from utils.errors import UserError

# torch storage type name -> numpy dtype
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': None, 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_,
}
_BATCH_NORM_NAMES = {'running_mean': '_mean', 'running_var': '_variance'}


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Opaque:
    """Any other PyTorch object in the file (an optimizer's or scheduler's): kept as nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _rebuild_tensor(storage, offset, size, stride, *args):
    if not size:
        return storage[offset].copy()
    itemsize = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)


def _rebuild_parameter(data, *args):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, archive, prefix, handle):
        super().__init__(handle)
        self.archive, self.prefix, self.storages = archive, prefix, {}

    def find_class(self, module, name):
        if module == 'torch._utils' and name in ('_rebuild_tensor_v2', '_rebuild_tensor'):
            return _rebuild_tensor
        if module == 'torch._utils' and name == '_rebuild_parameter':
            return _rebuild_parameter
        if module == 'torch' and name in _STORAGE_DTYPES:
            return lambda *args: _StorageType(name)
        if module == 'collections' and name == 'OrderedDict':
            return collections.OrderedDict
        if module.startswith('torch') or module.startswith('numpy'):
            return _Opaque
        if module == 'builtins' and name in ('set', 'frozenset', 'slice', 'complex'):
            return getattr(builtins, name)
        raise pickle.UnpicklingError(f'unexpected object {module}.{name}')

    def persistent_load(self, pid):
        kind, storage_type, key = pid[0], pid[1], pid[2]
        if kind != 'storage':
            raise pickle.UnpicklingError(f'unexpected persistent id {kind!r}')
        if isinstance(storage_type, _StorageType):
            dtype = storage_type.dtype
        else:   # PyTorch 2 passes the storage's dtype as torch.<dtype>, read as _Opaque
            dtype = np.float32
        if dtype is None:
            raise pickle.UnpicklingError(f'storage type {storage_type.name} is not supported')
        if key not in self.storages:
            data = self.archive.read(f'{self.prefix}/data/{key}')
            self.storages[key] = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder('<'))
        return self.storages[key]


def read_zip_checkpoint(path):
    """The object torch.save wrote to `path` (zip format), tensors as numpy arrays."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')]
        if len(pickles) != 1:
            raise UserError(f'checkpoint {path} is a zip file but not one torch.save wrote '
                            '(no <name>/data.pkl)')
        prefix = pickles[0][:-len('/data.pkl')]
        with archive.open(pickles[0]) as handle:
            return _Unpickler(archive, prefix, handle).load()


def read_legacy_checkpoint(path):
    """PyTorch's older (non-zip) format, through PyTorch when it is installed."""
    try:
        import torch
    except ImportError:
        raise UserError(f'checkpoint {path} is in PyTorch\'s older (non-zip) format, which needs '
                        'PyTorch to read: pip install torch (a CPU build is enough)') from None
    loaded = torch.load(str(path), map_location='cpu', weights_only=False)

    def to_numpy(value):
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        if isinstance(value, dict):
            return type(value)((k, to_numpy(v)) for k, v in value.items())
        return value
    return to_numpy(loaded)


def read_torch_checkpoint(path):
    """A .pth / .pth.tar checkpoint as a dict with the model state in Paddle's names under
    `model`; the other entries (optimizer, scheduler, best_state, epoch) as read."""
    with open(path, 'rb') as f:
        is_zip = f.read(2) == b'PK'   # a zip archive's first bytes, even when it is cut short
    try:
        loaded = read_zip_checkpoint(path) if is_zip else read_legacy_checkpoint(path)
    except UserError:
        raise
    except Exception as e:   # a corrupt file: zipfile, pickle and torch raise many kinds
        raise UserError(f'checkpoint {path} cannot be read as a PyTorch checkpoint '
                        f'({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})') \
            from None
    if not isinstance(loaded, dict):
        raise UserError(f'checkpoint {path} holds a {type(loaded).__name__}, not a dict')
    state = loaded['model'] if isinstance(loaded.get('model'), dict) else loaded
    return {**loaded, 'model': paddle_names(state)}


def paddle_names(state):
    """The official (PyTorch) state dict under Paddle's parameter names."""
    renamed = {}
    for key, value in state.items():
        if not isinstance(value, np.ndarray):
            continue
        if key.startswith('module.'):
            key = key[len('module.'):]
        prefix, _, last = key.rpartition('.')
        if last == 'num_batches_tracked':
            continue
        last = _BATCH_NORM_NAMES.get(last, last)
        renamed[f'{prefix}.{last}' if prefix else last] = value
    return renamed


def is_torch_checkpoint(path):
    return str(path).endswith(('.pth', '.pth.tar', '.pt'))
