"""What the benchmarks share, importable without paddle (a benchmark's timing child may run
without it): B0's benchmark shape and FLOPs, and the timer."""
import time

import numpy as np

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
