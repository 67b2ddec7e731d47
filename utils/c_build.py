"""The optional C helpers (the -gd line scanner, the CPU model kernels): built once per machine
with the system compiler into a cache folder, loaded with ctypes."""
import ctypes
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


def cache_folder():
    """Where built libraries live: $EFFICIENTGCN_CACHE, else the user's cache folder."""
    if os.environ.get('EFFICIENTGCN_CACHE'):
        return Path(os.environ['EFFICIENTGCN_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base) / 'efficientgcn'


def optional_c_library(source, flags=(), missing=''):
    """load_c_library, or None when EFFICIENTGCN_NO_C is set or the library cannot be built
    here; then `missing` (what runs instead) is logged once, at info level."""
    if os.environ.get('EFFICIENTGCN_NO_C'):
        return None
    try:
        return load_c_library(source, flags)
    except (OSError, subprocess.SubprocessError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        logging.getLogger(__name__).info('cannot build %s (%s): %s', Path(source).name, reason,
                                         missing)
        return None


def load_c_library(source, flags=()):
    """ctypes handle of a C file built with the system compiler, once per machine; a cached
    file that will not load (e.g. cut short) is built again. Raises OSError or
    subprocess.SubprocessError when it cannot be built."""
    path = _built_library(Path(source), tuple(flags))
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return ctypes.CDLL(str(_built_library(Path(source), tuple(flags))))


def _built_library(source, flags):
    """The shared library for this source, flags, machine and Python; built when absent."""
    text = source.read_bytes()
    tag = hashlib.sha256(text + ' '.join(flags).encode() + platform.machine().encode()
                         + sys.version.encode())
    target = cache_folder() / f'{source.stem}-{tag.hexdigest()[:16]}.so'
    if target.is_file():
        return target
    compiler = (sysconfig.get_config_var('CC') or 'cc').split()[0]
    if not shutil.which(compiler):
        compiler = shutil.which('cc') or shutil.which('gcc')
        if compiler is None:
            raise OSError('no C compiler found')
    target.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger(__name__).info('building %s once for this machine (a few seconds; cached '
                                     'in %s)', source.name, target.parent)
    # Build under a temporary name, then rename: a process that loads it never sees half a file.
    handle, partial = tempfile.mkstemp(suffix='.so', dir=target.parent)
    os.close(handle)
    try:
        subprocess.run([compiler, '-O2', *flags, '-shared', '-fPIC', '-o', partial, str(source)],
                       check=True, capture_output=True, timeout=120)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
