"""Runs the repository's scripts (main.py, infer.py) for the tests as fresh processes without
paying Python's and Paddle's start-up each time (about 1.3 s of a test's few seconds).

One server process per test process imports Paddle and the project once, then forks a child per
run. A child is a new process like any other: its own memory, pid, exit code, stdout and stderr
(to files, read back as text), stdin /dev/null, the caller's working directory, environment and
arguments. It runs the script as `python SCRIPT ARGS` would (`__name__ == '__main__'`, sys.argv)
and ends as an interpreter does: SystemExit's code, a traceback and 1 for an uncaught exception,
threads joined, atexit handlers run.

What a fork cannot give a child is what a library read when it loaded (OpenMP's thread count,
glibc's tunables, Paddle's FLAGS_ variables): the server runs in the test process's environment
(started again when that changed), and helpers.run_python starts a real process for a test that
passes an environment of its own.

    python tests/script_runner.py     # the server: one JSON request a line on stdin
"""
import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRELOADED = ('paddle', 'numpy', 'yaml', 'processor', 'initializer', 'generator', 'infer',
             'exporter', 'visualizer')
# A script restarts itself once with glibc's huge-page tunable (utils.runtime.
# restart_with_huge_pages), which a fork cannot do; the children run without it, as
# EFFICIENTGCN_NO_HUGE_PAGES=1 runs them: a speed setting only (test_huge_pages tests the
# restart in real processes), and for the tests' short runs a cost (the pages' faults and
# copies: six one-epoch demo runs 15.3/14.4 s without it, 16.7/15.7 s with it).
SERVER_ENVIRONMENT = {'EFFICIENTGCN_NO_HUGE_PAGES': '1'}
PER_TEST_VARIABLES = ('PYTEST_CURRENT_TEST',)


# ---------------------------------------------------------------- the server (its own process)
def serve():
    sys.path[0] = REPO_DIR
    os.chdir(REPO_DIR)
    for name in PRELOADED:
        __import__(name)
    replies = os.fdopen(os.dup(1), 'w')
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.close(replies.fileno())   # the client's pipe is the server's alone
            run_child(request)   # never returns
        replies.write(json.dumps({'pid': pid}) + '\n')
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({'returncode': os.waitstatus_to_exitcode(status)}) + '\n')
        replies.flush()


def run_child(request):
    """In the forked child: become `python SCRIPT ARGS` and exit as its interpreter would."""
    import runpy
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request['stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request['stderr'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    script = request['argv'][0]
    sys.argv = list(request['argv'])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name='__main__')
        code = 0
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    end(code)


def exit_code(e):
    """What the interpreter makes of SystemExit(e.code)."""
    if e.code is None or isinstance(e.code, int):
        return e.code or 0
    print(e.code, file=sys.stderr)
    return 1


def end(code):
    """End as the interpreter does (non-daemon threads joined, atexit handlers run, output
    flushed) less the teardown of every module, which took 0.35 s a run here and which nothing
    the scripts do depends on. threading._shutdown is what the interpreter itself calls."""
    threading._shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# ---------------------------------------------------------------- the client (the test process)
class ScriptRunner:
    """One server for this test process, started on first use and again when the process's
    environment has changed since (a library imported in a test may set a variable)."""

    def __init__(self):
        self.server = None
        self.environment = None
        self.pending = b''
        atexit.register(self.close)

    def run(self, argv, cwd, timeout):
        """`python ARGV...` in cwd with this process's environment: a
        subprocess.CompletedProcess with text output."""
        server = self._server()
        with tempfile.TemporaryDirectory(prefix='script_runner_') as folder:
            outputs = [os.path.join(folder, name) for name in ('stdout', 'stderr')]
            request = {'argv': [str(a) for a in argv], 'cwd': str(cwd),
                       'env': {**os.environ, **SERVER_ENVIRONMENT},
                       'stdout': outputs[0], 'stderr': outputs[1]}
            server.stdin.write(json.dumps(request) + '\n')
            server.stdin.flush()
            pid = self._reply(timeout)['pid']
            try:
                returncode = self._reply(timeout)['returncode']
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._reply(None)
                raise subprocess.TimeoutExpired([sys.executable, *argv], timeout)
            stdout, stderr = (open(path).read() for path in outputs)
        return subprocess.CompletedProcess([sys.executable, *argv], returncode, stdout, stderr)

    def _server(self):
        environment = {k: v for k, v in os.environ.items() if k not in PER_TEST_VARIABLES}
        if self.server is not None and (environment != self.environment
                                        or self.server.poll() is not None):
            self.close()
        if self.server is None:
            self.environment = environment
            self.server = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__)], cwd=REPO_DIR,
                env={**environment, **SERVER_ENVIRONMENT}, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, bufsize=1)
            self.pending = b''
        return self.server

    def close(self):
        """End the server (it ends when its stdin closes) and reap it."""
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()
            self.server.stdout.close()
            self.server = None

    def _reply(self, timeout):
        """The server's next reply line, waiting at most `timeout` seconds (None: no limit)."""
        deadline = None if timeout is None else time.time() + timeout
        fd = self.server.stdout.fileno()
        while b'\n' not in self.pending:
            wait = None if deadline is None else max(0.0, deadline - time.time())
            if not select.select([fd], [], [], wait)[0]:
                raise subprocess.TimeoutExpired('script runner', timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError('the script runner ended: see its output above')
            self.pending += chunk
        line, self.pending = self.pending.split(b'\n', 1)
        return json.loads(line)


if __name__ == '__main__':
    serve()
