"""The project's one way to read a pickle: nothing a file names is imported or called.

A pickle names the functions and classes that rebuild its objects, and plain unpickling imports
and calls them, so any pickle a user is handed can run code (`os.system`, `builtins.eval`, ...):
a checkpoint, a pose-annotation file from the web, a label file, a cache in a shared folder.
This unpickler resolves only the names a kind of file holds and stops at any other with
ForbiddenName, before anything is called.

DATA_NAMES serves every data pickle: pose annotations as mmaction2 and pyskl write them
(mmengine/mmcv dump with protocol 2, pickle's default elsewhere), label pickles, `videos.pkl`
and the eval-score cache. They hold Python's containers, str and bytes, and numpy's arrays,
dtypes and scalars, spelt as numpy 1 (`numpy.core`) or numpy 2 (`numpy._core`) wrote them; for
bytes protocol 2 calls `_codecs.encode` (latin-1 only here). Checkpoint readers add their few
names: model/checkpoint.py Paddle's random-generator states, model/torch_checkpoint.py the
names torch.save writes for tensors. tests/test_safe_pickle.py fails when any other module
unpickles.
"""
import _compat_pickle
import builtins
import collections
import io
import pickle

import numpy as np


class ForbiddenName(pickle.UnpicklingError):
    """The pickle names a global outside the reader's list."""

    def __init__(self, module, name):
        self.global_name = f'{module}.{name}'
        super().__init__(f'it names {self.global_name}')

    def refusal(self, path, kind):
        """The one line a user reads: the file, the name, and why nothing was read."""
        return (f'{path} names {self.global_name}, which no {kind} holds and which could run '
                'code: not read (open only files from people you trust)')


def _latin1_bytes(text, encoding='latin1'):
    """`_codecs.encode` as protocol-2 pickles call it: bytes written as a latin-1 str."""
    if not isinstance(text, str) or encoding != 'latin1':
        raise pickle.UnpicklingError(f'_codecs.encode({type(text).__name__}, {encoding!r}) is '
                                     'not how a pickle writes bytes')
    return text.encode('latin1')


def _numpy_names():
    """numpy's own rebuilding functions, under the module names numpy 1 and numpy 2 write."""
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    names = {('numpy', 'ndarray'): np.ndarray, ('numpy', 'dtype'): np.dtype}
    for package in ('numpy.core', 'numpy._core'):
        names.update({(f'{package}.multiarray', '_reconstruct'): reconstruct,
                      (f'{package}.multiarray', 'scalar'): scalar,
                      (f'{package}.numeric', '_frombuffer'): frombuffer})
    return names


DATA_NAMES = {
    **_numpy_names(),
    ('_codecs', 'encode'): _latin1_bytes,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    **{('builtins', name): getattr(builtins, name)
       for name in ('tuple', 'list', 'dict', 'set', 'frozenset', 'slice', 'complex',
                    'bytearray')},
}


class SafeUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves the names in `names` and refuses every other one."""
    names = DATA_NAMES

    def __init__(self, file, names=None):
        super().__init__(file)
        if names is not None:
            self.names = names

    def find_class(self, module, name):
        # protocol 2 writes Python 2's module names (__builtin__.set): read them as Python 3's
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return self.names[(module, name)]
        except (KeyError, TypeError):
            raise ForbiddenName(module, name) from None


def load(path, names=DATA_NAMES):
    """The object the pickle file at `path` holds; ForbiddenName for any name not in `names`,
    OSError when the file cannot be opened, pickle's own errors when it is damaged."""
    with open(path, 'rb') as f:
        return SafeUnpickler(f, names).load()


def loads(data, names=DATA_NAMES):
    """load() for a pickle already in memory."""
    return SafeUnpickler(io.BytesIO(data), names).load()
