"""What the benchmarks share, importable without paddle (a benchmark's timing child may run
without it, and importing paddle would fix its OpenMP settings): B0's benchmark shape and FLOPs,
the timer, and the machine's matrix-multiply rate."""
import os
import sys
import time

import numpy as np

from helpers import run_python

BATCH, FRAMES = 16, 288
# B0's FLOPs per sample at 288 frames (a multiply-add counts 2): forward, forward + backward.
FORWARD_GFLOP, TRAIN_GFLOP = 6.46, 22.0


def timed(fn, repeat):
    """Seconds per call: the median of `repeat` calls after one warm-up (this shared machine has
    moments of load from elsewhere; the median is not moved by one of them)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gemm_gflops(rounds=3):
    """The machine's fp32 matrix-multiply rate: the best of a few rounds, so that a moment of
    load elsewhere does not lower the bound (and raise every percentage measured against it)."""
    a = np.random.rand(2048, 2048).astype(np.float32)
    b = np.random.rand(2048, 2048).astype(np.float32)
    return max(2 * 2048 ** 3 / timed(lambda: a @ b, 5) / 1e9 for _ in range(rounds))


def one_thread_gemm_gflops():
    """gemm_gflops on one thread, in a child process: numpy's BLAS reads its thread count once,
    when it loads."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1',
           'MKL_NUM_THREADS': '1'}
    code = "import sys; sys.path.insert(0, 'tests'); import benchmark_basics; " \
        'print(benchmark_basics.gemm_gflops())'
    result = run_python('-c', code, env=env)
    if result.returncode != 0:
        sys.exit(f'the one-thread matrix-multiply process failed:\n{result.stderr[-2000:]}')
    return float(result.stdout.split()[-1])
