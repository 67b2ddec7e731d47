"""-r on other hardware than the run it continues: another AMP level (O2's float32 master
weights in the optimizer, which float32 and O1 lack), and another number of GPUs or processes
(the random generators' states: one a visible GPU, one set a process)."""
import random

import numpy as np
import paddle
import pytest
import yaml

import main
import processor as processor_module
from fake_data import write_generated_split
from helpers import run_main, tiny_config
from utils import seeding
from utils.config import load_config
from utils.errors import UserError
from utils import runs
from utils.runs import checkpoint_path


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A config file whose float32 run (1 of 2 epochs, on the CPU) left its checkpoint."""
    root = tmp_path_factory.mktemp('resume_devices')
    folder = root / 'original' / 'ntu-xsub'
    write_generated_split(folder, 'train', [i % 4 for i in range(8)], frames=20)
    write_generated_split(folder, 'eval', [i % 4 for i in range(4)], frames=20, seed=1)
    cfg = tiny_config(load_config('2001'), root, root / 'work', epochs=2)
    cfg['dataset_args']['ntu']['num_workers'] = 0
    cfg['scheduler_args']['cosine']['warm_up'] = 0
    config = root / 'tiny.yaml'
    config.write_text(yaml.safe_dump(cfg))
    result = run_main('-c', str(config), '--set', 'scheduler_args.cosine.max_epoch=1')
    assert result.returncode == 0, result.stderr[-3000:]
    return config


def test_a_float32_checkpoint_resumed_at_o2_is_one_line(trained, monkeypatch, capsys):
    """On a GPU --amp O2 decorates the model and optimizer: the float32 checkpoint's optimizer
    state has no accumulators for O2's master weights, and Paddle's optimizer asserts at the
    first step (on the CPU, where decorate leaves the model float32, the resume would go on at a
    level the checkpoint was not trained at). Refused at once, naming both levels."""
    monkeypatch.setattr(processor_module, 'select_device',
                        lambda gpus, distributed=False: ('gpu:0', None))   # a GPU's choice
    monkeypatch.setattr(paddle.device.cuda, 'get_device_capability', lambda device=None: (8, 0))
    code = main.main(['-c', str(trained), '-r', '--amp', 'O2'])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith('error:')]
    assert code == 1 and len(errors) == 1, errors
    assert 'float32' in errors[0] and 'O2' in errors[0], errors


def test_the_checkpoint_records_its_amp_level(trained):
    checkpoint = paddle.load(str(checkpoint_path(load_config(str(trained)))))
    assert checkpoint['owner']['amp_level'] is None   # float32 on the CPU


def test_amp_levels_that_share_the_optimizer_state_resume():
    """float32 and O1 keep float32 weights and the same optimizer state; O2 adds master weights.
    A checkpoint without the record is judged by its optimizer state."""
    def checkpoint(level=..., master=False):
        opt = {'master_weights': {'w': 0}} if master else {}
        owner = {} if level is ... else {'amp_level': level}
        return {'owner': owner, 'opt': opt}
    for recorded, wanted in ((None, 'O1'), ('O1', None), ('O2', 'O2'), (..., 'O1')):
        runs.check_amp_level(checkpoint(recorded), 'ckpt', wanted)
    for recorded, master, wanted, named in ((None, False, 'O2', 'float32'),
                                            ('O1', False, 'O2', 'O1'),
                                            ('O2', True, None, 'O2'),
                                            (..., True, 'O1', 'O2')):
        with pytest.raises(UserError, match=f'{named}.*(O1|O2|float32)') as error:
            runs.check_amp_level(checkpoint(recorded, master), 'ckpt', wanted)
        assert '\n' not in str(error.value)


def step_optimizer(net, o2=False, state=None):
    """One step of a Momentum optimizer, started from `state` when given; its state after it.
    At O2 as paddle.amp.decorate leaves a GPU's model and optimizer (float16 weights, float32
    master weights), emulated: the CPU has no float16 kernels, so the gradients are set and
    what is checked happens before the update's kernel."""
    net.to(dtype='float16' if o2 else 'float32')
    optimizer = paddle.optimizer.Momentum(0.1, parameters=net.parameters())
    optimizer._multi_precision = o2
    if state is not None:
        optimizer.set_state_dict(state)
    for parameter in net.parameters():
        parameter._set_grad_ivar(paddle.ones(parameter.shape, dtype=parameter.dtype))
    optimizer.step()
    return optimizer.state_dict()


def test_paddle_asserts_where_check_amp_level_refuses():
    """The refusal stands for Paddle's own failure: its O2 optimizer, given a float32 state,
    asserts at the first step (no accumulators for the master weights)."""
    net = paddle.nn.Linear(4, 3)
    float32 = {'opt': step_optimizer(net)}
    assert 'master_weights' not in float32['opt']
    with pytest.raises(AssertionError, match='fp32_master.*should in state dict'):
        step_optimizer(net, o2=True, state=float32['opt'])
    with pytest.raises(UserError, match='float32 or AMP O1, this run trains in AMP O2'):
        runs.check_amp_level(float32, 'ckpt', 'O2')


# ---------------------------------------------------------------- random states
def states_after(seed):
    seeding.seed_everything(seed)
    return seeding.rng_states()


def draws():
    return random.random(), float(np.random.rand()), float(paddle.rand([1]).numpy()[0])


def test_each_rank_resumes_its_own_random_states():
    saved = [states_after(1), states_after(2)]
    seeding.restore_rng_states(saved, rank=1, world_size=2, reseed=7)
    after_rank_1 = draws()
    seeding.restore_rng_states(saved[1])   # one rank's states, as a single process saves them
    assert draws() == after_rank_1
    seeding.restore_rng_states(saved, rank=0, world_size=2, reseed=7)
    assert draws() != after_rank_1


class FakeGenerator:
    def __init__(self):
        self.state = None

    def get_state(self):
        return self.state

    def set_state(self, state):
        self.state = state

    def manual_seed(self, seed):
        self.state = ('seeded', seed)


@pytest.fixture
def one_gpu(monkeypatch):
    """A CUDA build seeing one GPU, its generator faked (Paddle's own set_cuda_rng_state checks
    the count against core.get_cuda_device_count)."""
    generator = FakeGenerator()
    for module in (paddle, paddle.device):
        monkeypatch.setattr(module, 'is_compiled_with_cuda', lambda: True)
    monkeypatch.setattr(paddle.device.cuda, 'device_count', lambda: 1)
    monkeypatch.setattr(paddle.base.core, 'get_cuda_device_count', lambda: 1, raising=False)
    monkeypatch.setattr(paddle.base.core, 'default_cuda_generator', lambda i: generator,
                        raising=False)
    return generator


def test_another_gpu_count_warns_and_reseeds(one_gpu, caplog):
    saved = states_after(3)
    saved['cuda'] = [('gpu0',), ('gpu1',)]   # saved where two GPUs were visible
    expected = draws()
    with caplog.at_level('WARNING'):
        seeding.restore_rng_states(saved)   # Paddle's set_cuda_rng_state: a ValueError
    assert one_gpu.state == ('seeded', 0)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1 and '2 GPUs' in warnings[0] and '1' in warnings[0], warnings
    assert draws() == expected   # the CPU's generators are restored all the same
    saved['cuda'] = [('gpu0',)]
    seeding.restore_rng_states(saved, reseed=11)
    assert one_gpu.state == ('gpu0',)


def test_another_process_count_warns_and_reseeds(caplog):
    saved = [states_after(1), states_after(2)]
    with caplog.at_level('WARNING'):
        seeding.restore_rng_states(saved, rank=2, world_size=3, reseed=5)
    first = draws()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1 and '2 processes' in warnings[0] and '3' in warnings[0], warnings
    seeding.seed_everything(5)
    assert draws() == first
