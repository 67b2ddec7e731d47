"""The compiled line scanner (skeleton_lines.c): built once per machine with the system C
compiler into a cache folder, loaded with ctypes. Optional: without a compiler, or with
EFFICIENTGCN_NO_C=1, `line_scanner()` is None and the reader uses numpy alone (about 3x slower
to parse, same arrays)."""
import ctypes
import functools
from pathlib import Path

import numpy as np

from utils.c_build import optional_c_library

SOURCE = Path(__file__).with_name('skeleton_lines.c')


@functools.lru_cache(maxsize=None)
def line_scanner():
    """skeleton_lines(text) -> (tokens per line int32 (lines,), 4 meaning 4 or more; first three
    numbers float64 (lines, 3), NaN where absent),
    or None when the C code cannot be used here."""
    library = optional_c_library(SOURCE, missing='parsing with numpy, which is slower')
    if library is None:
        return None
    scan = library.skeleton_lines
    scan.restype = ctypes.c_long
    scan.argtypes = [ctypes.c_char_p, ctypes.c_long, ctypes.c_long,
                     np.ctypeslib.ndpointer(np.int32, flags='C_CONTIGUOUS'),
                     np.ctypeslib.ndpointer(np.float64, flags='C_CONTIGUOUS')]

    def skeleton_lines(text):
        # NTU lines average ~100 bytes: guess room for them, count exactly only if short.
        for max_lines in (len(text) // 16 + 64, text.count(b'\n') + 1):
            tokens = np.empty(max_lines, np.int32)
            values = np.empty((max_lines, 3), np.float64)
            lines = scan(text, len(text), max_lines, tokens, values)
            if lines >= 0:
                return tokens[:lines], values[:lines]
        raise AssertionError('skeleton_lines: more lines than newlines')
    return skeleton_lines
