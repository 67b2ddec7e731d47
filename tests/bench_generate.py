"""Benchmark of -gd (not collected by pytest):
    python tests/bench_generate.py [copies per file] [--before REPO [--rounds N]]

Builds 4,800 .skeleton files (400 copies of each of the 12 real files under new names) in a
temporary folder and prints, from one run:
  - the time of a bare single-process Python parse (read each line, float() each token);
  - the time of generate() with config 2001's settings (X-sub, raw) and 2002's (X-view, with the
    pre-normalisation), and how many times faster than the bare parse each is (goal: >= 8x);
  - the peak anonymous memory of each generation's whole process tree against the size of the
    arrays it wrote (goal: < 40%).
Each generation runs in its own process, watched from here through /proc. With --before REPO
(another checkout, e.g. `git archive main | tar -x -C /tmp/before`), each config's generation
runs N times with REPO's code and this checkout's in turn (in alternating order), and the
ratios of the medians and the median of each round's ratio are printed, of the wall time and of
the CPU time of all its processes.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))

from conftest import SHARED  # noqa: E402
from memory_probe import run_watching_memory  # noqa: E402
from reader import native  # noqa: E402
from reader.ntu import parse_name  # noqa: E402

CONFIGS = {'2001': ('ntu-xsub', False), '2002': ('ntu-xview', True)}
SAMPLE_BYTES = 3 * 300 * 25 * 2 * 4

# Run in a fresh interpreter: time generate() alone (not interpreter start-up).
_CHILD = '''
import json, sys, time
sys.path.insert(0, {repo!r})
import generator
cfg = json.loads({cfg!r})
start = time.perf_counter()
summary = generator.generate(cfg, progress=False)
print(json.dumps({{'seconds': time.perf_counter() - start, 'summary': summary}}))
'''


def make_copies(source, folder, copies):
    """Copies of every real file under new names: the replication field counts the copies."""
    folder.mkdir()
    for path in sorted(source.glob('*.skeleton')):
        f = parse_name(path.name)
        for copy in range(1, copies + 1):
            name = (f'S{f["setup"]:03d}C{f["camera"]:03d}P{f["performer"]:03d}'
                    f'R{copy:03d}A{f["action"]:03d}.skeleton')
            shutil.copyfile(path, folder / name)
    return sorted(folder.glob('*.skeleton'))


def busy_cpu_seconds():
    """CPU time used by every process on the machine so far (from /proc/stat)."""
    fields = [int(x) for x in Path('/proc/stat').read_text().split('\n')[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf('SC_CLK_TCK')


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_parse(files):
    """The yardstick: plain Python, one process, every token of every line through float()."""
    start = time.perf_counter()
    for path in files:
        with open(path) as f:
            values = [[float(token) for token in line.split()] for line in f]
        del values
    return time.perf_counter() - start


def run_generation(folder, root, dataset, transform, repo=REPO):
    cfg = {'dataset': dataset, 'dataset_args': {'ntu': {
        'root_folder': str(root), 'ntu60_path': str(folder), 'transform': transform}}}
    code = _CHILD.format(repo=str(repo), cfg=json.dumps(cfg))
    machine, own = busy_cpu_seconds(), children_cpu_seconds()
    start = time.perf_counter()
    result, peak = run_watching_memory([sys.executable, '-c', code], cwd=str(repo))
    wall = time.perf_counter() - start
    own = children_cpu_seconds() - own
    others = max(0.0, busy_cpu_seconds() - machine - own) / wall   # cores busy elsewhere
    if result.returncode != 0:
        raise SystemExit(f'generation failed:\n{result.stderr}')
    report = json.loads(result.stdout.strip().splitlines()[-1])
    kept = sum(report['summary'][phase]['kept'] for phase in ('train', 'eval'))
    return report['seconds'], own, others, peak, kept * SAMPLE_BYTES


def compare(folder, tmp, before, rounds):
    """Each config generated `rounds` times by `before`'s code and this checkout's in turn:
    the medians of the wall time and of the CPU time of all its processes, and their ratios."""
    for config, (dataset, transform) in CONFIGS.items():
        runs = {'before': [], 'after': []}   # (seconds, CPU seconds, peak memory)
        for round_ in range(rounds):
            sides = (('before', before), ('after', REPO))
            for side, repo in sides[::-1] if round_ % 2 else sides:   # ABBA: drift cancels
                seconds, cpu, _, peak, _ = run_generation(folder, tmp / 'out', dataset,
                                                          transform, repo)
                runs[side].append((seconds, cpu, peak))
                shutil.rmtree(tmp / 'out')
        wall, cpu = ({side: statistics.median(run[i] for run in values)
                      for side, values in runs.items()} for i in (0, 1))
        print(f'config {config}: wall before {wall["before"]:.2f} s, after {wall["after"]:.2f} s, '
              f'after / before = {wall["after"] / wall["before"]:.3f}; CPU before '
              f'{cpu["before"]:.2f} s, after {cpu["after"]:.2f} s, after / before = '
              f'{cpu["after"] / cpu["before"]:.3f} (medians of {rounds}, alternating); peak '
              'anonymous memory ' + ', '.join(f'{side} {max(r[2] for r in values) / 2**20:.0f} MiB'
                                              for side, values in runs.items()))
        paired = [statistics.median(after[i] / before[i] for before, after in
                                    zip(runs['before'], runs['after'])) for i in (0, 1)]
        print(f'    median of the rounds\' after / before (each pair run back to back, so '
              f'less swayed by the machine\'s load drifting): wall {paired[0]:.3f}, CPU '
              f'{paired[1]:.3f}')
        for side, values in runs.items():
            print(f'    {side}: ' + ' '.join(f'{r[0]:.2f} s / {r[1]:.2f} s CPU' for r in values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('copies', nargs='?', type=int, default=400)
    parser.add_argument('--before', type=Path, help='another checkout to compare with')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    copies = args.copies
    source = SHARED / 'ntu' / 'skeletons'
    if not source.is_dir():
        raise SystemExit(f'{source} is absent: put the shared folder beside the repository')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = make_copies(source, tmp / 'skeletons', copies)
        size = sum(p.stat().st_size for p in files)
        print(f'{len(files)} files ({size / 1e9:.2f} GB): {copies} copies of each real file')
        print('parser: ' + ('C line scanner' if native.line_scanner() else
                            'numpy only (no C compiler, or EFFICIENTGCN_NO_C is set)'))
        if args.before:
            compare(tmp / 'skeletons', tmp, args.before.resolve(), args.rounds)
            return
        bare_parse(files[:200])   # warm the page cache and the interpreter alike for everyone
        bare = bare_parse(files)
        print(f'bare single-process parse: {bare:.2f} s ({bare / len(files) * 1e3:.2f} ms/file)')
        for config, (dataset, transform) in CONFIGS.items():
            seconds, cpu, others, peak, written = run_generation(
                tmp / 'skeletons', tmp / f'out{config}', dataset, transform)
            print(f'config {config} ({dataset}, transform={transform}): {seconds:.2f} s, '
                  f'{bare / seconds:.1f}x faster than the bare parse (goal >= 8x); peak '
                  f'anonymous memory {peak / 2**20:.0f} MiB = {peak / written:.0%} of the '
                  f'{written / 2**20:.0f} MiB written (goal < 40%)')
            print(f'    CPU {cpu / len(files) * 1e3:.2f} ms/file over all its processes; other '
                  f'programs kept {others:.1f} of {os.cpu_count()} cores busy meanwhile')
            shutil.rmtree(tmp / f'out{config}')


if __name__ == '__main__':
    main()
