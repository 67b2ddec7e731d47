"""Seeds and random states: one seed for Python, numpy and Paddle, and the states a checkpoint
keeps so that a resumed run draws what the uninterrupted run would have drawn."""
import random

import numpy as np
import paddle

from utils.runtime import gpu_available


def seed_everything(seed):
    paddle.seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def rng_states():
    states = {'python': random.getstate(), 'numpy': np.random.get_state(),
              'paddle': paddle.get_rng_state()}
    if gpu_available():
        states['cuda'] = paddle.get_cuda_rng_state()
    return states


def restore_rng_states(states):
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    paddle.set_rng_state(states['paddle'])
    if 'cuda' in states and gpu_available():
        paddle.set_cuda_rng_state(states['cuda'])
