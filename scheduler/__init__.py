"""Learning-rate factors stepped every iteration, and when to evaluate."""
import math

from utils.errors import ConfigError


class CosineWarmUp:
    """Linear warm-up over `warm_up` epochs, then half a cosine down to 0 at `max_epoch`."""

    def __init__(self, iters_per_epoch, max_epoch, warm_up, **kwargs):
        self.max_epoch = max_epoch
        self.warm = warm_up * iters_per_epoch
        self.max = max_epoch * iters_per_epoch

    def __call__(self, t):
        if t < self.warm:
            return t / self.warm
        return 0.5 * (1 + math.cos(math.pi * (t - self.warm) / (self.max - self.warm)))

    def eval_now(self, epoch):
        """Evaluate after `epoch` (1-based, completed): every 5, and every one of the last 10."""
        return epoch % 5 == 0 or epoch > self.max_epoch - 10 or epoch == self.max_epoch


class StepWarmUp:
    """Linear warm-up, then 0.1 ** (number of `step_lr` epochs passed)."""

    def __init__(self, iters_per_epoch, max_epoch, warm_up, step_lr, **kwargs):
        self.max_epoch = max_epoch
        self.iters_per_epoch = iters_per_epoch
        self.warm = warm_up * iters_per_epoch
        self.step_lr = sorted(step_lr)

    def __call__(self, t):
        if t < self.warm:
            return t / self.warm
        return 0.1 ** sum(1 for step in self.step_lr if t >= step * self.iters_per_epoch)

    def eval_now(self, epoch):
        last_step = self.step_lr[-1] if self.step_lr else 0
        return epoch % 5 == 0 or epoch > last_step or epoch == self.max_epoch


SCHEDULES = {'cosine': CosineWarmUp, 'step': StepWarmUp}


def create(name, iters_per_epoch, scheduler_args):
    if name not in SCHEDULES:
        raise ConfigError(f'unknown lr_scheduler {name!r}; choose one of {", ".join(SCHEDULES)}')
    if name not in scheduler_args:
        raise ConfigError(f'scheduler_args has no {name!r} entry')
    args = scheduler_args[name]
    if args['warm_up'] >= args['max_epoch'] and name == 'cosine':
        raise ConfigError(f'scheduler_args.{name}.warm_up must be below max_epoch')
    return SCHEDULES[name](iters_per_epoch, **args)
