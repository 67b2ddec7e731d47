"""The checks of tools/check_gpu.py, one module per area: training (training.py), inference on
the exported files (deployment.py), the published checkpoint (published.py), and how GPU logits
are compared with TF32 on or off (precision.py). Each check prints one line through Report."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = '1001'


class Report:
    """The checks' outcomes, one printed line each: `ok: ...`, `FAILED: ...` or `skipped: ...`."""

    def __init__(self, out=None):
        self.failed = 0
        self.lines = []
        self.out = out or sys.stdout

    def _print(self, status, what):
        line = f'{status}: {" ".join(str(what).split())}'   # one line, whatever `what` holds
        self.lines.append(line)
        print(line, file=self.out, flush=True)

    def ok(self, what):
        self._print('ok', what)

    def fail(self, what):
        self.failed += 1
        self._print('FAILED', what)

    def skip(self, what):
        self._print('skipped', what)

    def expect(self, passed, what, why=''):
        if passed:
            self.ok(what)
        else:
            self.fail(f'{what}{": " + why if why else ""}')
        return passed


class Result:
    """A finished child process: its exit code, output and the last line it wrote."""

    def __init__(self, completed):
        self.returncode = completed.returncode
        self.stdout, self.stderr = completed.stdout, completed.stderr
        lines = [line for line in (self.stderr + self.stdout).splitlines() if line.strip()]
        self.last_line = lines[-1] if lines else f'exit code {self.returncode}'


def run(*args, env=None, timeout=3600):
    """python ARGS... from the repository, as a user runs it."""
    return Result(subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env,
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                 timeout=timeout))


def demo_settings(folder, *assignments):
    """--set arguments: the demo's data under folder, and further config entries."""
    entries = [f'dataset_args.ntu.root_folder={folder / "npy"}',
               f'dataset_args.ntu.ntu60_path={folder / "skeletons"}', *assignments]
    return [item for entry in entries for item in ('--set', entry)]


def kill_once_written(args, path, env=None, timeout=300):
    """Start python ARGS... from the repository in its own process group and kill the whole
    group (a launcher and its workers too) as soon as `path` exists: a crash at the worst
    moment, mid-run."""
    process = subprocess.Popen([sys.executable, *map(str, args)], cwd=REPO, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while not Path(path).exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:   # it ended first; the caller's checks say what went wrong
        pass
    process.wait()
