"""The compiled line scanner (skeleton_lines.c): built once per machine with the system C
compiler into a cache folder, loaded with ctypes. Optional: without a compiler, or with
EFFICIENTGCN_NO_C=1, `line_scanner()` is None and the reader uses numpy alone (about 3x slower
to parse, same arrays)."""
import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name('skeleton_lines.c')
logger = logging.getLogger(__name__)


def cache_folder():
    """Where built libraries live: $EFFICIENTGCN_CACHE, else the user's cache folder."""
    if os.environ.get('EFFICIENTGCN_CACHE'):
        return Path(os.environ['EFFICIENTGCN_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base) / 'efficientgcn'


@functools.lru_cache(maxsize=None)
def line_scanner():
    """skeleton_lines(text) -> (tokens per line int32 (lines,), 4 meaning 4 or more; first three
    numbers float64 (lines, 3), NaN where absent),
    or None when the C code cannot be used here."""
    if os.environ.get('EFFICIENTGCN_NO_C'):
        return None
    try:
        library = _load_library()
    except (OSError, subprocess.SubprocessError) as e:
        logger.info('no compiled skeleton parser (%s); parsing with numpy, which is slower',
                    str(e).splitlines()[0] if str(e) else type(e).__name__)
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


def _load_library():
    """The built library, rebuilt once if the cached file will not load (e.g. cut short)."""
    path = _built_library()
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return ctypes.CDLL(str(_built_library()))


def _built_library():
    """The shared library for this source, compiler target and Python; built when absent."""
    source = SOURCE.read_bytes()
    tag = hashlib.sha256(source + platform.machine().encode() + sys.version.encode())
    target = cache_folder() / f'skeleton_lines-{tag.hexdigest()[:16]}.so'
    if target.is_file():
        return target
    compiler = (sysconfig.get_config_var('CC') or 'cc').split()[0]
    if not shutil.which(compiler):
        compiler = shutil.which('cc') or shutil.which('gcc')
        if compiler is None:
            raise OSError('no C compiler found')
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build under a temporary name, then rename: a process that loads it never sees half a file.
    handle, partial = tempfile.mkstemp(suffix='.so', dir=target.parent)
    os.close(handle)
    try:
        subprocess.run([compiler, '-O2', '-shared', '-fPIC', '-o', partial, str(SOURCE)],
                       check=True, capture_output=True, timeout=120)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
