"""The benchmarks' timer, in a module of its own so that a benchmark's child process can use it
without importing paddle."""
import time

import numpy as np


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
