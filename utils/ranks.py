"""What data-parallel processes share: counts summed over ranks, batch-norm statistics
averaged, a check that every rank holds the same parameters, and every rank's predictions (and
any value: every_rank).
Each is a no-op in a single process."""
import logging

import paddle

logger = logging.getLogger(__name__)


def sum_over_ranks(world_size, *counts):
    if world_size == 1:
        return counts
    total = paddle.to_tensor(list(counts), dtype='int64')
    paddle.distributed.all_reduce(total)
    return tuple(int(v) for v in total.numpy())


def average_buffers(net, world_size):
    """BatchNorm statistics (non-trainable parameters in Paddle) are per process; average
    them so every rank evaluates and saves the same model."""
    if world_size == 1:
        return
    frozen = [p for p in net.parameters() if p.stop_gradient] + net.buffers()
    for buffer in frozen:
        if buffer.dtype in (paddle.float32, paddle.float64):
            paddle.distributed.all_reduce(buffer)
            buffer.set_value(buffer / world_size)


def check_ranks_agree(net, world_size):
    """Data parallelism must leave identical parameters on every process."""
    if world_size == 1:
        return
    sums = paddle.to_tensor([float(p.astype('float64').sum()) for p in net.parameters()])
    gathered = []
    paddle.distributed.all_gather(gathered, sums)
    spread = max(float((g - gathered[0]).abs().max()) for g in gathered)
    if spread != 0:
        raise RuntimeError(f'parameters differ between processes (max {spread:.3e})')
    logger.info('Parameters are identical on all %d processes', world_size)


def every_rank(world_size, value):
    """[rank 0's value, rank 1's, ...] on every rank (each calls this)."""
    if world_size == 1:
        return [value]
    gathered = []
    paddle.distributed.all_gather_object(gathered, value)
    return gathered


def gather_predictions(world_size, scores, labels):
    """Every rank's predictions on every rank; each sample counted once."""
    if world_size == 1:
        return scores, labels
    gathered = []
    paddle.distributed.all_gather_object(gathered, (scores, labels))
    all_scores, all_labels = {}, {}
    for rank_scores, rank_labels in gathered:
        all_scores.update(rank_scores)
        all_labels.update(rank_labels)
    return all_scores, all_labels
