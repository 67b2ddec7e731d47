"""Where native libraries' own printing goes: a C library writes to file descriptors 1 and 2
directly, past Python's sys.stdout and sys.stderr, so only the descriptors can redirect it."""
import contextlib
import ctypes
import os


@contextlib.contextmanager
def descriptor_redirected(fd, target):
    """File descriptor `fd` points where descriptor `target` does meanwhile; yields a duplicate
    of the original, still open until the end."""
    saved = os.dup(fd)
    os.dup2(target, fd)
    try:
        yield saved
    finally:
        ctypes.CDLL(None).fflush(None)   # C buffers still hold text meant for the old target
        os.dup2(saved, fd)
        os.close(saved)
