"""PyTorch checkpoints (the authors' `.pth.tar`, written by `torch.save`), read without PyTorch
and without running anything the file names.

Two formats, told apart by their bytes (checkpoint.py decides which):
- the zip archive torch.save writes since PyTorch 1.6: `<name>/data.pkl`, a pickle whose tensors
  refer to raw storages stored as `<name>/data/<key>`;
- the older format: pickles one after another (a magic number, a version, the system's sizes,
  the object itself, its storage keys), then each storage as its element count and its bytes.

Either pickle is read by utils/safe_pickle's unpickler with the few names torch.save writes for
tensors added: each tensor becomes a numpy array of its storage's values at its offset, shape
and strides. The file's other entries (optimizer, scheduler, best_state with numpy arrays and
scalars, epoch) come back as plain values; nothing of PyTorch is needed.
"""
import pickle
import zipfile

import numpy as np

from utils.safe_pickle import DATA_NAMES, SafeUnpickler

LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
# the magic number as protocol 2 pickles it (a long of 10 bytes), near the start of the file
LEGACY_MAGIC_BYTES = b'\x8a\x0a' + LEGACY_MAGIC_NUMBER.to_bytes(10, 'little')

# torch storage type name -> numpy dtype of its elements (bfloat16: read as its bits)
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': np.uint16, 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_,
}


class _StorageType:
    """A storage class named in a persistent id (torch.FloatStorage, ...)."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


def _rebuild_tensor(storage, offset, size, stride, *args):
    """A tensor as numpy: its storage's values at offset, shape and strides (a copy)."""
    if storage is None:   # the older format's first pass, before the storages are read
        return None
    if not size:
        return storage[offset].copy()
    itemsize = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)


def _rebuild_parameter(data, *args):
    return data


def _rebuild_from_type(function, _type, args, _state):
    """A tensor of a subclass (e.g. a Parameter) as its plain tensor."""
    return function(*args)


TORCH_NAMES = {
    **DATA_NAMES,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch._tensor', '_rebuild_from_type_v2'): _rebuild_from_type,
    ('torch', 'Tensor'): 'Tensor',
    ('torch.nn.parameter', 'Parameter'): 'Parameter',
    **{('torch', name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _TorchUnpickler(SafeUnpickler):
    """The safe unpickler with torch's tensor names; storages come from `storage(key, type)`,
    or are None when it is None."""
    names = TORCH_NAMES

    def __init__(self, handle, storage):
        super().__init__(handle)
        self.storage = storage

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == 'storage'
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f'unexpected persistent id {str(pid)[:60]}')
        self.storage_types[str(pid[2])] = pid[1]
        if self.storage is None:
            return None
        values = self.storage(str(pid[2]), pid[1])
        view = pid[5] if len(pid) > 5 else None   # very old files: (key, offset, size) of a view
        return values[view[1]:view[1] + view[2]] if view else values

    def load(self):
        self.storage_types = {}
        return super().load()


def _as_values(raw, storage_type, byteorder='little'):
    """A storage's bytes as a 1-D numpy array of its element type."""
    dtype = storage_type.dtype.newbyteorder('<' if byteorder == 'little' else '>')
    values = np.frombuffer(raw, dtype=dtype)
    if storage_type.name == 'BFloat16Storage':   # the upper half of a float32's bits
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values


def zip_pickle_name(archive):
    """The `<name>/data.pkl` of a zip torch.save wrote, or None."""
    pickles = [n for n in archive.namelist() if n.endswith('data.pkl')
               and n.count('/') <= 1]
    return pickles[0] if len(pickles) == 1 else None


def read_zip_checkpoint(path):
    """The object torch.save wrote to `path` (zip format), tensors as numpy arrays."""
    with zipfile.ZipFile(path) as archive:
        name = zip_pickle_name(archive)
        prefix = name[:-len('data.pkl')]
        byteorder = 'little'
        if f'{prefix}byteorder' in archive.namelist():
            byteorder = archive.read(f'{prefix}byteorder').decode().strip()
        storages = {}

        def storage(key, storage_type):
            if key not in storages:
                raw = archive.read(f'{prefix}data/{key}')
                storages[key] = _as_values(raw, storage_type, byteorder)
            return storages[key]
        with archive.open(name) as handle:
            return _TorchUnpickler(handle, storage).load()


def read_legacy_checkpoint(path):
    """The object PyTorch's older format holds, tensors as numpy arrays. The tensors' pickle
    comes before their storages' bytes, so it is read twice: once to reach the storages, once
    with them."""
    with open(path, 'rb') as f:
        if SafeUnpickler(f).load() != LEGACY_MAGIC_NUMBER:
            raise pickle.UnpicklingError('no PyTorch magic number')
        SafeUnpickler(f).load()                      # the format's version
        sys_info = SafeUnpickler(f).load()
        byteorder = 'little' if not isinstance(sys_info, dict) or \
            sys_info.get('little_endian', True) else 'big'
        start = f.tell()
        first_pass = _TorchUnpickler(f, None)
        first_pass.load()
        keys = SafeUnpickler(f).load()
        storages = {}
        for key in keys:
            storage_type = first_pass.storage_types[str(key)]
            count = int.from_bytes(f.read(8), 'little')
            raw = f.read(count * storage_type.dtype.itemsize)
            if len(raw) != count * storage_type.dtype.itemsize:
                raise EOFError(f'storage {key} is cut short')
            storages[str(key)] = _as_values(raw, storage_type, byteorder)
        f.seek(start)
        return _TorchUnpickler(f, lambda key, _: storages[key]).load()

