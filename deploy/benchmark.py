"""Throughput and latency of a runtime on one batch, after warm-up."""
import time

import numpy as np

WARMUP, MIN_RUNS, MIN_SECONDS = 2, 3, 2.0


def time_runs(function, warmup=WARMUP, min_runs=MIN_RUNS, min_seconds=MIN_SECONDS):
    """Seconds per call after `warmup` untimed calls: at least min_runs and min_seconds."""
    for _ in range(warmup):
        function()
    times = []
    while len(times) < min_runs or sum(times) < min_seconds:
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return np.array(times)


def full_batch(batch, batch_size):
    """Repeat the samples of a short batch so that the benchmark times batch_size sequences."""
    repeats = -(-batch_size // len(batch))
    return np.concatenate([batch] * repeats)[:batch_size]


def random_batch(batch_size, input_shape):
    return np.random.RandomState(0).standard_normal(
        [batch_size] + list(input_shape[1:])).astype(np.float32)


def run_benchmark(runner, batch):
    times = time_runs(lambda: runner(batch))
    mean = times.mean()
    print(f'Benchmark ({runner.describe()}, {getattr(runner, "precision", "fp32")}, '
          f'batch {len(batch)}): {len(batch) / mean:.2f} '
          f'sequences/s, latency {1000 * mean:.1f} ms per batch (mean of {len(times)} runs '
          f'after {WARMUP} warm-up; min {1000 * times.min():.1f} ms)')
