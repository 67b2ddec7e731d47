"""Whether the loader's workers can hand their batches over in shared memory (/dev/shm).

Each worker keeps up to Paddle's DataLoader prefetch_factor batches in flight (its default, 2),
and every training process on the machine has its own workers: 4 workers a GPU at 288 frames and
16 samples a GPU need about 130 MB. A container's /dev/shm is 64 MB unless it is given more
(Docker's --shm-size, or --ipc=host), and a worker that outgrows it dies with a bus error in the
first epoch. Where it is too small the batches go through pipes instead (use_shared_memory off:
slower, the same batches), with one notice a process."""
import logging
import os

logger = logging.getLogger(__name__)

SHM = '/dev/shm'
BATCHES_IN_FLIGHT = 2   # a worker's, Paddle DataLoader's prefetch_factor default
NOTICES_GIVEN = set()


def free_bytes(path=SHM):
    """Free bytes in /dev/shm, or None where there is none (not Linux)."""
    try:
        stat = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return stat.f_bavail * stat.f_frsize


def bytes_needed(workers, batch_bytes, processes=1):
    """/dev/shm the batches in flight take: every process's workers, each with its prefetched
    batches."""
    return processes * workers * BATCHES_IN_FLIGHT * batch_bytes


def use_shared_memory(workers, batch_bytes, processes=None):
    """Whether `workers` loader workers of each of this machine's `processes` (default: the
    launcher's PADDLE_LOCAL_SIZE, else 1) fit their batches of `batch_bytes` in /dev/shm; a
    notice, once a process, when they do not."""
    if workers == 0:
        return False
    free = free_bytes()
    if processes is None:
        processes = int(os.environ.get('PADDLE_LOCAL_SIZE', '1'))
    need = bytes_needed(workers, batch_bytes, processes)
    if free is None or need <= free:   # no /dev/shm (not Linux): Paddle's default
        return True
    if SHM not in NOTICES_GIVEN:
        NOTICES_GIVEN.add(SHM)
        logger.warning(
            '%s has %d MiB free; %d loader worker(s) x %d process(es) x %d batches in flight of '
            '%.1f MiB need about %d MiB: the workers hand batches over without shared memory '
            '(slower). Give the container more: docker run --shm-size=2g (or --ipc=host)',
            SHM, free >> 20, workers, processes, BATCHES_IN_FLIGHT, batch_bytes / 2 ** 20,
            round(need / 2 ** 20))
    return False
