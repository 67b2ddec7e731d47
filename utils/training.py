"""The training loop: the step (forward at the AMP level, loss, backward, optimizer and learning
rate steps) and the epoch (its steps, their log lines, progress bar and TensorBoard scalars, the
accuracy summed over the processes); and the AMP settings it trains at. processor.py assembles
the run around it (data, model, optimizer, checkpoints, evaluation); a change to how a step or
an epoch trains (gradient clipping, an average of the weights) belongs here."""
import logging
import time

import paddle
import paddle.nn.functional as F

from utils import ranks
from utils.errors import ConfigError
from utils.runtime import amp_in_effect

logger = logging.getLogger(__name__)
AMP_LEVELS = ('O1', 'O2')
INITIAL_LOSS_SCALE = 2.0 ** 15


def amp_level(cfg, device):
    """The config's amp_level (O1 or O2; --amp sets it) where training runs it
    (runtime.amp_in_effect: on GPUs with float16 support); None: float32."""
    level = cfg.get('amp_level')
    if level is not None and level not in AMP_LEVELS:
        raise ConfigError(f'amp_level {level!r}: give O1 or O2 (mixed precision on GPU), or '
                          f'leave it empty for float32')
    return amp_in_effect(level, device)[0]


def precision(cfg, device):
    """What training computes in, for the log."""
    return amp_in_effect(cfg.get('amp_level'), device)[1]


def grad_scaler(level):
    """The loss scaler of mixed precision; None in float32."""
    return paddle.amp.GradScaler(init_loss_scaling=INITIAL_LOSS_SCALE) if level else None


def decorate_for_amp(net, optimizer, level):
    """O2 keeps the weights in float16, with float32 master copies in the optimizer and
    float32 state dicts (checkpoints), as PaddleClas and PaddleVideo decorate; O1 changes
    nothing here. After the float32 states are loaded: set_value refuses a float32 state
    for a float16 weight. Returns (net, optimizer)."""
    if level:
        return paddle.amp.decorate(models=net, optimizers=optimizer, level=level,
                                   save_dtype='float32')
    return net, optimizer


class TrainingLoop:
    """Trains `model` (the network, or its DataParallel) on `loader` with `optimizer` and the
    learning rate scheduler `lr`, stepped every batch; at `level` (None: float32) with `scaler`.
    `progress(loader, description)` wraps the loader in a progress bar; `log_steps` writes a log
    line a step (no progress bar); `writer` (TensorBoard, or None) gets the scalars."""

    def __init__(self, model, optimizer, lr, loader, level=None, scaler=None, writer=None,
                 progress=lambda loader, description: loader, log_steps=False, world_size=1):
        self.model, self.optimizer, self.lr, self.loader = model, optimizer, lr, loader
        self.level, self.scaler, self.writer = level, scaler, writer
        self.progress, self.log_steps, self.world_size = progress, log_steps, world_size

    def forward_loss(self, data, label):
        with paddle.amp.auto_cast(enable=self.scaler is not None, level=self.level or 'O1'):
            logits, _ = self.model(data)
            loss = F.cross_entropy(logits.astype('float32'), label)
        return logits, loss

    def step(self, data, label):
        """One optimizer step on a batch; (logits, loss, the learning rate it stepped at)."""
        logits, loss = self.forward_loss(data, label)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        lr = self.optimizer.get_lr()
        self.lr.step()
        return logits, loss, lr

    def epoch(self, epoch, max_epoch):
        """Every batch of the loader once; logs the training accuracy of every process."""
        self.model.train()
        self.loader.batch_sampler.set_epoch(epoch)
        correct, seen, start = 0, 0, time.time()
        bar = self.progress(self.loader, f'Epoch {epoch}/{max_epoch}')
        for step, (data, label, _) in enumerate(bar, 1):
            logits, loss, lr = self.step(data, label)
            correct += int((logits.argmax(axis=1) == label).sum())
            seen += label.shape[0]
            self.log_step(bar, epoch, max_epoch, step, float(loss), lr)
        correct, seen = ranks.sum_over_ranks(self.world_size, correct, seen)
        accuracy = correct / max(seen, 1)
        logger.info('Epoch: %d/%d, Training accuracy: %d/%d(%.2f%%), Training time: %.2fs',
                    epoch, max_epoch, correct, seen, 100 * accuracy, time.time() - start)
        if self.writer is not None:
            self.writer.add_scalar('train_acc', accuracy, epoch)

    def log_step(self, bar, epoch, max_epoch, step, loss_value, lr):
        bar.set_postfix(loss=f'{loss_value:.4f}', lr=f'{lr:.5f}')
        if self.log_steps:
            logger.info('Epoch: %d/%d, Batch: %d/%d, Loss: %.4f, LR: %.6f', epoch, max_epoch,
                        step, len(self.loader), loss_value, lr)
        if self.writer is not None:
            global_step = (epoch - 1) * len(self.loader) + step
            self.writer.add_scalar('train_loss', loss_value, global_step)
            self.writer.add_scalar('learning_rate', lr, global_step)
