"""The speed goals' PyTorch reference, measured: EfficientGCN-B0 in PyTorch eager on this machine.

    pip install torch        # a CPU build; PyTorch is not a dependency of this repository
    python tests/bench_torch_reference.py

The speed goals are calibrated with 'the same architecture in PyTorch eager'. tests/torch_mirror.py
builds that model from our Paddle B0 (config 2001), layer by layer with the same weights,
computed as the official PyTorch implementation computes it. This first checks that both
frameworks give the same logits (within 1e-4), so the timed model is the same function. Then,
each in a process of its own, on every core: eval throughput (batch 16, 288 frames, no grad)
and training-step throughput (forward, backward, SGD with Nesterov momentum) of
- this repository's dygraph model, with the process settings main.py runs with (freed memory
  kept for reuse, transparent huge pages);
- this repository's B0 exported with `main.py -ex` and run by infer.py's predictor (eval only);
- the PyTorch model with main.py's process settings;
- the PyTorch model as a plain script runs (glibc's malloc as it comes: half the speed here).
Each is printed as a fraction of the bounds bench_train.py uses (numpy's GEMM rate on every
core, and on one in brackets), and this repository's rates as ratios to PyTorch's, all measured
in this one run. Not collected by pytest (the name does not start with test_).
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from benchmark_basics import BATCH, FORWARD_GFLOP, FRAMES, TRAIN_GFLOP, timed  # noqa: E402
from helpers import run_python  # noqa: E402

ORIGINAL_ENVIRONMENT = dict(os.environ)   # before paddle's import changes the thread settings
CONFIG = '2001'
NUM_CORES = os.cpu_count() or 1
ENGINES = {
    'paddle': 'this repository, dygraph, as main.py runs',
    'paddle-inference': 'this repository, Paddle Inference, as infer.py runs',
    'torch-kept': 'PyTorch eager, with main.py\'s process settings',
    'torch-plain': 'PyTorch eager, as a plain script runs',
}


def import_torch():
    try:
        import torch
    except ImportError:
        sys.exit('PyTorch is not installed: `pip install torch` (a CPU build is enough) to run '
                 'this comparison; nothing else in the repository needs it.')
    return torch


def paddle_b0(paddle):
    """Config 2001's model with random weights, batch-norm statistics, edges and classifier
    (random_weights.randomise), so that the comparison exercises every parameter and the
    logits are of order 1."""
    from initializer import build_model
    from random_weights import randomise
    from utils.config import load_config
    paddle.seed(0)
    return randomise(build_model(load_config(CONFIG))[0]).eval()


def mirrored_b0(folder):
    """Build the Paddle B0, mirror it in torch, check both give the same logits, and save the
    torch model for the timing processes."""
    torch = import_torch()
    from torch_mirror import TorchEfficientGCN

    from bench_train import paddle   # imported as the Paddle benchmarks import it
    net = paddle_b0(paddle)
    torch_net = TorchEfficientGCN(net).eval()
    x = np.random.RandomState(1).standard_normal((2, 3, 6, 64, 25, 2)).astype(np.float32)
    with paddle.no_grad():
        expected = net(paddle.to_tensor(x))[0].numpy()
    with torch.no_grad():
        got = torch_net(torch.from_numpy(x)).numpy()
    difference = float(np.abs(got - expected).max())
    if difference > 1e-4:
        sys.exit(f'the PyTorch mirror differs from the Paddle model by {difference:.2e}')
    print(f'PyTorch mirror of B0 (config {CONFIG}): the same logits as the Paddle model '
          f'(max difference {difference:.1e}, logits up to {np.abs(expected).max():.1f})')
    path = Path(folder) / 'b0.pt'
    torch.save(torch_net, path)
    return path


def torch_rates(model_file):
    """Eval sequences/s and training samples/s of the saved torch model, on every core."""
    torch = import_torch()
    torch.set_num_threads(NUM_CORES)
    torch_net = torch.load(model_file, weights_only=False)
    torch.manual_seed(0)
    x = torch.randn(BATCH, 3, 6, FRAMES, 25, 2)
    labels = torch.randint(0, 60, (BATCH,))
    torch_net.eval()
    with torch.no_grad():
        eval_seconds = timed(lambda: torch_net(x), 5)
    torch_net.train()
    optimizer = torch.optim.SGD(torch_net.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(torch_net(x), labels).backward()
        optimizer.step()
    return BATCH / eval_seconds, BATCH / timed(step, 3)


def inference_rate():
    """Eval sequences/s of B0 exported with `main.py -ex` and run by infer.py's predictor, as
    bench_infer.py sets them up."""
    import bench_infer   # every core's threads, set before paddle loads
    bench_infer.runtime.import_paddle()
    batch = np.random.RandomState(0).standard_normal((BATCH, 3, 6, FRAMES, 25, 2)).astype(
        np.float32)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint, _ = bench_infer.make_checkpoint(folder)
        run = bench_infer.inference_engine(bench_infer.export(checkpoint), BATCH, mkldnn=True)
        return BATCH / timed(lambda: run(batch), 5)


def measure(engine, model_file):
    """A timing process's work: print its engine's eval and training rates (nan: none)."""
    from utils import runtime
    if engine == 'paddle-inference':   # the process settings infer.py runs with
        runtime.tune_process(openmp_spin=True)
    elif engine != 'torch-plain':   # main.py's (paddle), or their memory part (torch)
        runtime.restart_with_huge_pages()
        runtime.keep_freed_memory()
    if engine == 'paddle-inference':
        print(inference_rate(), float('nan'))
    elif engine == 'paddle':
        from bench_train import model_rates
        print(*model_rates())
    else:
        print(*torch_rates(model_file))


def rates_in_child(engine, model_file):
    """measure() in a new process, from the user's own environment."""
    environment = dict(ORIGINAL_ENVIRONMENT)
    if engine == 'torch-plain':
        environment.pop('GLIBC_TUNABLES', None)
    result = run_python(__file__, '--measure', engine, model_file, env=environment, timeout=None)
    if result.returncode != 0:
        sys.exit(f'the {engine} timing process failed:\n{result.stderr[-2000:]}')
    return [float(value) for value in result.stdout.split()[-2:]]


def print_table(rates, gflops, one_thread):
    print(f'torch {import_torch().__version__}, {NUM_CORES} threads, batch {BATCH} x {FRAMES} '
          f'frames; numpy fp32 matrix multiply: {gflops:.0f} GFLOP/s on every core '
          f'[{one_thread:.0f} on one]')
    print(f'{"B0":<50} {"eval seq/s":>10} {"of bound":>9} {"[1 core]":>8} {"train/s":>8} '
          f'{"of bound":>9} {"[1 core]":>8}')
    for engine, (eval_rate, train_rate) in rates.items():
        eval_flops, train_flops = eval_rate * FORWARD_GFLOP, train_rate * TRAIN_GFLOP
        training = f'{"-":>8} {"-":>9} {"-":>8}' if np.isnan(train_rate) else \
            f'{train_rate:8.2f} {train_flops / gflops:9.1%} {train_flops / one_thread:8.0%}'
        print(f'{ENGINES[engine]:<50} {eval_rate:10.2f} {eval_flops / gflops:9.1%} '
              f'{eval_flops / one_thread:8.0%} {training}')
    for engine in ('torch-kept', 'torch-plain'):
        eval_ratio, train_ratio = (ours / theirs for ours, theirs in zip(rates['paddle'],
                                                                         rates[engine]))
        inference_ratio = rates['paddle-inference'][0] / rates[engine][0]
        print(f'this repository vs {ENGINES[engine]}: eval {eval_ratio:.2f}x, training '
              f'{train_ratio:.2f}x; Paddle Inference eval {inference_ratio:.2f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--measure', nargs=2, metavar=('ENGINE', 'MODEL'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as folder:
        model_file = mirrored_b0(folder)
        rates = {engine: rates_in_child(engine, model_file) for engine in ENGINES}
    from benchmark_basics import gemm_gflops, one_thread_gemm_gflops
    print_table(rates, gemm_gflops(), one_thread_gemm_gflops())


if __name__ == '__main__':
    main()
