"""What the backends buy, and that they cost nothing against an earlier commit: B0 (config 2001,
batch 16 x 288 frames) on this machine, every figure a ratio measured in this one run.

    python tests/bench_backends.py [--base REV] [--runs 5] [--rounds 2]

1. Dygraph eval and training step: the CPU backend against the plain model (this tree).
2. Paddle Inference (as infer.py runs it): the exporter's forms against the folded model exported
   in its own (plain) forms.
3. Each of this tree's figures against the same figure of commit REV (default HEAD~1), checked out
   into a temporary folder and run as its own main.py / export ran there. A figure more than 5%
   below REV's is flagged.

Each timing runs in a process of its own (tests/bench_backends_child.py) with the tree's own
process settings; the rounds take the configurations in turn, so that a change in the machine's
load hits all alike, and each figure is the best round's median. Not collected by pytest.
"""
import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name('bench_backends_child.py')
BATCH = 16
ALLOWED_LOSS = 0.05


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--base', default='HEAD~1', help='the earlier commit to compare with')
    parser.add_argument('--runs', type=int, default=5, help='timed runs per process')
    parser.add_argument('--rounds', type=int, default=2, help='processes per configuration')
    return parser.parse_args()


def check_out(rev, folder):
    """The tree of commit rev, written into folder (git archive: no work tree is touched)."""
    archive = Path(folder) / 'tree.tar'
    result = subprocess.run(['git', 'archive', '--format=tar', '-o', str(archive), rev],
                            cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f'cannot check out {rev}: {result.stderr.strip()}')
    tree = Path(folder) / 'base'
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter='data')
    return tree


def child(tree, mode, runs, model_file=None):
    command = [sys.executable, str(CHILD), str(tree), mode, '--runs', str(runs)]
    if model_file is not None:
        command += ['--model-file', str(model_file)]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{')]
    if result.returncode != 0 or not lines:
        sys.exit(f'{mode} on {tree} failed:\n{result.stderr[-3000:]}')
    return json.loads(lines[-1])['seconds']


def measure(configurations, runs, rounds):
    """name -> the best round's median seconds; configurations: name -> (tree, mode, file)."""
    medians = {name: [] for name in configurations}
    for _ in range(rounds):
        for name, (tree, mode, model_file) in configurations.items():
            medians[name].append(float(np.median(child(tree, mode, runs, model_file))))
    return {name: min(values) for name, values in medians.items()}


def print_rows(title, seconds, unit, pairs):
    """pairs: (name, reference name, what the ratio is, whether it must not fall 5% below)."""
    print(f'\n{title}')
    for name, value in seconds.items():
        print(f'  {name:<44} {BATCH / value:7.2f} {unit}  ({1000 * value:7.0f} ms per batch)')
    flagged = []
    for name, reference, what, guarded in pairs:
        ratio = seconds[reference] / seconds[name]
        mark = ''
        if guarded and ratio < 1 - ALLOWED_LOSS:
            mark = f'  <-- more than {ALLOWED_LOSS:.0%} below'
            flagged.append(name)
        print(f'  {what:<60} {ratio:6.2f}x{mark}')
    return flagged


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = check_out(args.base, folder)
        print(f'B0, batch {BATCH} x 288 frames; this tree ({REPO}) against {args.base}; '
              f'{args.rounds} processes x {args.runs} timed runs per figure')
        dygraph = measure({
            'eval, CPU backend (this tree)': (REPO, 'eval-backend', None),
            'eval, plain model (this tree)': (REPO, 'eval-plain', None),
            f'eval, as main.py ran it ({args.base})': (base, 'eval-as-main', None),
        }, args.runs, args.rounds)
        flagged = print_rows('Dygraph eval', dygraph, 'seq/s', [
            ('eval, CPU backend (this tree)', 'eval, plain model (this tree)',
             'eval: CPU backend / plain model', False),
            ('eval, CPU backend (this tree)', f'eval, as main.py ran it ({args.base})',
             f'eval: this tree / {args.base}', True)])
        training = measure({
            'training step, CPU backend (this tree)': (REPO, 'train-backend', None),
            'training step, plain model (this tree)': (REPO, 'train-plain', None),
            f'training step, as main.py ran it ({args.base})': (base, 'train-as-main', None),
        }, max(2, args.runs // 2), args.rounds)
        flagged += print_rows('Dygraph training step', training, 'samples/s', [
            ('training step, CPU backend (this tree)', 'training step, plain model (this tree)',
             'training: CPU backend / plain model', False),
            ('training step, CPU backend (this tree)',
             f'training step, as main.py ran it ({args.base})',
             f'training: this tree / {args.base}', True)])
        exported = {}
        for name, tree, mode in [('export forms (this tree)', REPO, 'export-as-main'),
                                 ('plain forms (this tree)', REPO, 'export-plain-forms'),
                                 (f'as main.py -ex exported it ({args.base})', base,
                                  'export-as-main')]:
            stem = Path(folder) / name.split(' (')[0].replace(' ', '_').replace('.', '')
            child(tree, mode, 0, stem.with_suffix('.json'))
            exported[name] = (REPO, 'inference', saved_model(stem))
        inference = measure(exported, args.runs, args.rounds)
        flagged += print_rows('Paddle Inference (infer.py, oneDNN on)', inference, 'seq/s', [
            ('export forms (this tree)', 'plain forms (this tree)',
             'Paddle Inference: export forms / plain forms', False),
            ('export forms (this tree)', f'as main.py -ex exported it ({args.base})',
             f'Paddle Inference: this tree / {args.base}', True)])
    print('\n' + (f'{len(flagged)} figure(s) more than {ALLOWED_LOSS:.0%} below {args.base}: '
                  + ', '.join(flagged) if flagged else
                  f'no figure more than {ALLOWED_LOSS:.0%} below {args.base}'))


def saved_model(stem):
    for suffix in ('.json', '.pdmodel'):
        if stem.with_suffix(suffix).is_file():
            return stem.with_suffix(suffix)
    sys.exit(f'no exported model at {stem}')


if __name__ == '__main__':
    main()
