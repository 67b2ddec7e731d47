"""tests/script_runner.py, which starts main.py and infer.py for the other tests, gives what a
real `python SCRIPT ARGS` gives: output, exit code, arguments, working directory, environment,
atexit handlers and threads run to their end, and an uncaught exception's traceback."""
import os
import subprocess
import sys

from script_runner import ScriptRunner

SCRIPT = '''
import atexit, os, sys, threading, time
print('argv', sys.argv[1:], 'cwd', os.getcwd(), 'name', __name__)
print('variable', os.environ.get('SCRIPT_RUNNER_TEST'))
print('on stderr', file=sys.stderr)
atexit.register(print, 'atexit ran')
threading.Thread(target=lambda: (time.sleep(0.2), print('thread ended'))).start()
if sys.argv[1] == 'raise':
    raise ValueError('the message')
sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
'''


def both(runner, script, *args, cwd):
    real = subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return real, runner.run([script, *args], cwd, timeout=60)


def test_the_runner_gives_what_a_real_process_gives(tmp_path, monkeypatch):
    script = tmp_path / 'script.py'
    script.write_text(SCRIPT)
    monkeypatch.setenv('SCRIPT_RUNNER_TEST', 'set by the test')
    runner = ScriptRunner()
    for args in (['0'], ['3'], ['a message']):
        real, forked = both(runner, script, *args, cwd=tmp_path)
        assert (forked.returncode, forked.stdout, forked.stderr) == \
            (real.returncode, real.stdout, real.stderr), args
    assert 'variable set by the test' in forked.stdout and 'thread ended\natexit ran' in \
        forked.stdout and forked.returncode == 1 and 'a message' in forked.stderr
    real, forked = both(runner, script, 'raise', cwd=tmp_path)
    runner.close()
    assert forked.returncode == real.returncode == 1 and forked.stdout == real.stdout
    assert forked.stderr.startswith('on stderr\nTraceback (most recent call last):')
    assert forked.stderr.endswith('ValueError: the message\n') and real.stderr.endswith(
        'ValueError: the message\n')


def test_a_changed_environment_starts_the_server_again(monkeypatch, tmp_path):
    script = tmp_path / 'pid.py'
    script.write_text('import os; print(os.getppid(), os.environ.get("SCRIPT_RUNNER_TEST"))')
    runner = ScriptRunner()
    first, again = (runner.run([script], tmp_path, 60).stdout.split() for _ in range(2))
    monkeypatch.setenv('SCRIPT_RUNNER_TEST', 'changed')
    changed = runner.run([script], tmp_path, 60).stdout.split()
    runner.close()
    assert first == again and first[1] == 'None'
    assert changed[1] == 'changed' and changed[0] != first[0]   # another server
    assert os.getpid() not in (int(first[0]), int(changed[0]))
