"""Peak anonymous memory (RssAnon) of a whole process tree, sampled from /proc on Linux.

Anonymous memory is what a process really holds: memory-mapped output files are page cache and
not counted. Used by the generator memory test and tests/bench_generate.py.
"""
import subprocess
import threading
import time
from pathlib import Path


def _rss_anon_bytes(pid):
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('RssAnon:'):
                return int(line.split()[1]) * 1024
    except OSError:   # the process has just ended
        pass
    return 0


def _children(pid):
    try:
        tasks = list(Path(f'/proc/{pid}/task').iterdir())
    except OSError:
        return []
    children = []
    for task in tasks:
        try:
            children += [int(c) for c in (task / 'children').read_text().split()]
        except OSError:
            pass
    return children


def tree_anon_bytes(pid):
    """RssAnon summed over a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _rss_anon_bytes(current)
        todo += _children(current)
    return total


def run_watching_memory(command, interval=0.01, **kwargs):
    """Run a command to completion; returns (CompletedProcess, peak tree RssAnon in bytes)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, **kwargs)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_anon_bytes(process.pid))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), peak
