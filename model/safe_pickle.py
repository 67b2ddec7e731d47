"""Pickles that other people wrote, read without running anything they name.

A pickle names the functions and classes that rebuild its objects, and plain unpickling calls
them: a checkpoint file can run any code that way (`os.system`, `builtins.eval`, ...). This
unpickler resolves only the names checkpoints hold: numpy's arrays, dtypes and scalars (with
`_codecs.encode` only as protocol 2 uses it, to write bytes), Python's containers and
OrderedDict. Any other name stops the reading with ForbiddenName before anything is called.
The PyTorch reader (torch_checkpoint.py) adds the names torch.save writes for tensors.
"""
import _compat_pickle
import builtins
import collections
import pickle

import numpy as np


class ForbiddenName(pickle.UnpicklingError):
    """The pickle names a global outside the reader's list."""

    def __init__(self, module, name):
        self.global_name = f'{module}.{name}'
        super().__init__(f'it names {self.global_name}')


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


SAFE_NAMES = {
    **_numpy_names(),
    ('_codecs', 'encode'): _latin1_bytes,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    **{('builtins', name): getattr(builtins, name)
       for name in ('tuple', 'list', 'dict', 'set', 'frozenset', 'slice', 'complex',
                    'bytearray')},
}


class SafeUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves the names in `names` and refuses every other one."""
    names = SAFE_NAMES

    def find_class(self, module, name):
        # protocol 2 writes Python 2's module names (__builtin__.set): read them as Python 3's
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return self.names[(module, name)]
        except (KeyError, TypeError):
            raise ForbiddenName(module, name) from None
