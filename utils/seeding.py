"""Seeds and random states: one seed for Python, numpy and Paddle, and the states a checkpoint
keeps so that a resumed run draws what the uninterrupted run would have drawn: every process's
own (each draws its own dropout masks), the GPUs' one a visible GPU."""
import logging
import random

import numpy as np
import paddle

from utils.runtime import gpu_available

logger = logging.getLogger(__name__)


def seed_everything(seed):
    paddle.seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def resume_seed(seed, epoch, rank):
    """The seed a process takes when a checkpoint's states cannot be restored: its own, and not
    the run's first (whose draws it would repeat)."""
    return (seed * 1_000_003 + epoch * 1_009 + rank) % 2 ** 31


def rng_states():
    """This process's generators: Python's, numpy's, Paddle's CPU one, and on a GPU one a visible
    GPU (paddle.get_cuda_rng_state)."""
    states = {'python': random.getstate(), 'numpy': np.random.get_state(),
              'paddle': paddle.get_rng_state('cpu')}
    if gpu_available():
        states['cuda'] = paddle.get_cuda_rng_state()
    return states


def restore_rng_states(saved, rank=0, world_size=1, reseed=0):
    """Restore rank `rank`'s states from `saved`: every process's states in rank order (a list),
    or one process's (a dict). Where they cannot be restored (another number of processes, or of
    visible GPUs) a warning, and the generators concerned are seeded with `reseed` instead."""
    per_rank = saved if isinstance(saved, list) else [saved]
    if len(per_rank) != world_size:
        logger.warning('The checkpoint holds the random states of %d processes, this run has %d: '
                       'every process reseeds (random draws differ from an uninterrupted run)',
                       len(per_rank), world_size)
        seed_everything(reseed)
        return
    states = per_rank[rank]
    if gpu_available():
        _restore_gpu_states(states.get('cuda'), reseed)
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    paddle.set_rng_state(states['paddle'], device='cpu')


def _restore_gpu_states(saved, reseed):
    """One state a visible GPU; another count warns and reseeds the GPUs' generators (paddle.seed
    seeds the CPU's too, which restore_rng_states restores after)."""
    count = paddle.device.cuda.device_count()
    if saved is not None and len(saved) == count:
        paddle.set_cuda_rng_state(saved)
        return
    logger.warning('The checkpoint holds the random states of %s, this process sees %d: its GPU '
                   'generators reseed (dropout draws differ from an uninterrupted run)',
                   f'{len(saved)} GPUs' if saved is not None else 'no GPU', count)
    paddle.seed(reseed)
