"""The repository's scripts run as a user runs them: from the repository, with stdin closed (so
that nothing may prompt), output captured as text."""
import os
import signal
import subprocess
import sys
import time

from utils.config import REPO_DIR


def run_python(*args, timeout=600, **kwargs):
    """python ARGS... (a script and its arguments, or -m and a module)."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO_DIR,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def run_main(*argv, **kwargs):
    return run_python('main.py', *argv, **kwargs)


def kill_once_written(args, path, timeout=300):
    """Start python ARGS... in its own process group and kill the whole group (a launcher and
    its workers too) as soon as `path` exists: a crash at the worst moment, mid-run."""
    process = subprocess.Popen([sys.executable, *map(str, args)], cwd=REPO_DIR,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while not path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:   # it ended first; the caller's checks say what went wrong
        pass
    process.wait()
