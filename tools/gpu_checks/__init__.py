"""The checks of tools/check_gpu.py, one module per area: training (training.py), inference on
the exported files (deployment.py), the published checkpoint (published.py), and how GPU logits
are compared with TF32 on or off (precision.py). Each check prints one line through Report."""
import subprocess
import sys
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
