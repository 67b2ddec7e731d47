import math

import pytest

import scheduler
from utils.errors import ConfigError


def test_cosine_warm_up_then_half_cosine():
    schedule = scheduler.create('cosine', 10, {'cosine': {'max_epoch': 70, 'warm_up': 10}})
    assert schedule(0) == 0
    assert schedule(50) == pytest.approx(0.5)              # half-way through warm-up
    assert schedule(100) == pytest.approx(1.0)             # warm-up ends
    assert schedule(400) == pytest.approx(0.5)             # half-way down the cosine
    assert schedule(700) == pytest.approx(0.0, abs=1e-12)
    assert schedule(250) == pytest.approx(0.5 * (1 + math.cos(math.pi * 150 / 600)))


def test_step_warm_up_then_tenfold_steps():
    schedule = scheduler.create('step', 4, {'step': {'max_epoch': 70, 'warm_up': 5,
                                                     'step_lr': [20, 50]}})
    assert schedule(10) == pytest.approx(0.5)
    assert schedule(20) == 1.0 and schedule(79) == 1.0
    assert schedule(80) == pytest.approx(0.1) and schedule(199) == pytest.approx(0.1)
    assert schedule(200) == pytest.approx(0.01)


def test_evaluation_epochs():
    cosine = scheduler.create('cosine', 1, {'cosine': {'max_epoch': 70, 'warm_up': 10}})
    assert [e for e in range(1, 71) if cosine.eval_now(e)] == \
        [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60] + list(range(61, 71))
    step = scheduler.create('step', 1, {'step': {'max_epoch': 60, 'warm_up': 5,
                                                 'step_lr': [20, 50]}})
    assert [e for e in range(1, 61) if step.eval_now(e)] == \
        [5, 10, 15, 20, 25, 30, 35, 40, 45, 50] + list(range(51, 61))


def test_paddle_lambda_decay_follows_the_schedule():
    from initializer import build_scheduler
    from utils.config import load_config
    cfg = load_config('2001')
    schedule, lr = build_scheduler(cfg, iters_per_epoch=3)
    values = []
    for _ in range(40):
        values.append(lr.get_lr())
        lr.step()
    assert values[0] == 0 and values[15] == pytest.approx(0.1 * 0.5)
    assert values[30] == pytest.approx(0.1) and values[39] < 0.1


def test_unknown_scheduler_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown lr_scheduler 'linear'"):
        scheduler.create('linear', 1, {})
