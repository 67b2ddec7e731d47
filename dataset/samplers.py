"""Batch sampler whose order depends only on (seed, epoch), sharded over processes."""
import numpy as np
from paddle.io import BatchSampler


class ShardedBatchSampler(BatchSampler):
    """Train: shuffled by (seed, epoch), equal batches per rank, last incomplete batch dropped.
    Eval (shuffle=False, drop_last=False): every sample exactly once over all ranks, in order."""

    def __init__(self, size, batch_size, shuffle, drop_last, seed=0, rank=0, world_size=1):
        self.size, self.batch_size = size, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def _indices(self):
        if self.shuffle:
            order = np.random.RandomState(self.seed * 100003 + self.epoch).permutation(self.size)
        else:
            order = np.arange(self.size)
        if self.drop_last:   # same number of samples on every rank, so all-reduce never waits
            order = order[:self.size // self.world_size * self.world_size]
        return order[self.rank::self.world_size]

    def __iter__(self):
        indices = self._indices().tolist()
        for start in range(0, len(indices), self.batch_size):
            batch = indices[start:start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self):
        count = len(self._indices())
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)
