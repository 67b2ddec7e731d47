"""The worker processes of -gd: forked where the platform allows (they start at once, with
nothing to import again) and ended cleanly.

multiprocessing.Pool's own `with` block ends its workers with SIGTERM. A forked worker keeps the
signal handlers its parent installed, Paddle's among them, and Paddle's handler allocates memory:
a SIGTERM that lands while the worker is inside malloc (as it exits) deadlocks that worker, and
the pool then waits for it for ever (seen once in the test suite). A pool whose work is done is
closed and joined instead, so that its workers exit on their own; only a failure terminates."""
import contextlib
import multiprocessing
import os


def available_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()


@contextlib.contextmanager
def worker_pool(processes, initializer=None, initargs=()):
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context('fork' if 'fork' in methods else None)
    pool = context.Pool(processes, initializer=initializer, initargs=initargs)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
