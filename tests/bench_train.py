"""Training-side speed on this machine, each figure a ratio measured in this one run.

    python tests/bench_train.py

1. J/V/B input building per sample: vectorised builder vs a per-joint Python loop (a plain port's way).
2. B0 eval and training-step throughput (batch 16, 288 frames; the median of several passes)
   as a fraction of the bound set by this machine's fp32 matrix-multiply rate (numpy, measured
   here, the best of three rounds) and B0's FLOPs per sample (6.46 GFLOP forward, 22.0
   forward + backward; a multiply-add counts 2). The rate is taken on every core, as the model
   runs; the fraction of one core's rate follows in brackets, because the speed goals'
   figures for a plain port (1.6 seq/s = 6%, 0.6 samples/s = 8%) are fractions of that rate.
3. The loader's share of a training step with num_workers 2 (reader wait / step time).

Like main.py, it first restarts itself with glibc's huge-page tunable (runtime.
restart_with_huge_pages), so that the figures are the ones main.py runs at.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from utils import runtime  # noqa: E402

runtime.tune_process()   # as main.py does, so that the figures are what it runs at
paddle = runtime.import_paddle()
import numpy as np  # noqa: E402

from benchmark_basics import BATCH, FORWARD_GFLOP, FRAMES, TRAIN_GFLOP, gemm_gflops, \
    one_thread_gemm_gflops, timed  # noqa: E402
from utils.config import load_config  # noqa: E402
from dataset.graphs import Graph  # noqa: E402
from dataset.inputs import build_inputs  # noqa: E402
from initializer import build_feeders, build_loader, build_model, build_optimizer, \
    build_scheduler  # noqa: E402
from model import cpu_backend, reparameterize  # noqa: E402



def loop_inputs(data, connect_joint):
    """Per-joint / per-frame loops as a plain port writes them, for comparison only."""
    C, T, V, M = data.shape
    joint, velocity, bone = (np.zeros((C * 2, T, V, M)) for _ in range(3))
    joint[:C] = data
    for i in range(V):
        joint[C:, :, i] = data[:, :, i] - data[:, :, 1]
    for i in range(T - 2):
        velocity[:C, i] = data[:, i + 1] - data[:, i]
        velocity[C:, i] = data[:, i + 2] - data[:, i]
    for i in range(V):
        bone[:C, :, i] = data[:, :, i] - data[:, :, connect_joint[i]]
    length = 0
    for i in range(C):
        length += bone[i] ** 2
    length = np.sqrt(length) + 1e-4
    for i in range(C):
        bone[C + i] = np.arccos(bone[i] / length)
    return np.stack([joint, velocity, bone]).astype(np.float32)


def bench_inputs():
    connect = Graph('ntu').connect_joint
    sample = np.random.rand(3, FRAMES, 25, 2).astype(np.float32)
    fast = timed(lambda: build_inputs(sample, 'JVB', connect), 50)
    slow = timed(lambda: loop_inputs(sample, connect), 5)
    np.testing.assert_allclose(build_inputs(sample, 'JVB', connect), loop_inputs(sample, connect),
                               atol=1e-4)
    print(f'J/V/B per sample: vectorised {fast * 1e3:.2f} ms, per-joint loops {slow * 1e3:.2f} ms '
          f'-> {slow / fast:.1f}x faster')


def model_rates():
    """B0 (config 2001, batch 16 x 288 frames): eval sequences/s and training-step samples/s
    (forward, backward, the config's Momentum step)."""
    cfg = load_config('2001')
    net, *_ = build_model(cfg)
    cpu_backend.install(net)   # as the engine does on the CPU
    x = paddle.randn([BATCH, 3, 6, FRAMES, 25, 2])
    eval_net = reparameterize(net)   # as evaluation runs: folded, the backend on it
    cpu_backend.install(eval_net)
    with paddle.no_grad():
        eval_rate = BATCH / timed(lambda: eval_net(x), 7)

    net.train()
    schedule, lr = build_scheduler(cfg, 100)
    optimizer = build_optimizer(cfg, net, lr)
    label = paddle.randint(0, 60, [BATCH])

    def step():
        logits, _ = net(x)
        loss = paddle.nn.functional.cross_entropy(logits, label)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    return eval_rate, BATCH / timed(step, 5)


def bench_model(gflops, one_thread_gflops):
    eval_rate, train_rate = model_rates()
    bound = gflops / FORWARD_GFLOP
    print(f'B0 eval: {eval_rate:.2f} seq/s = {eval_rate / bound:.1%} of the bound '
          f'({bound:.1f} seq/s at {gflops:.0f} GFLOP/s) '
          f'[{eval_rate * FORWARD_GFLOP / one_thread_gflops:.0%} of one core\'s]')
    bound = gflops / TRAIN_GFLOP
    print(f'B0 training step: {train_rate:.2f} samples/s = {train_rate / bound:.1%} of the bound '
          f'({bound:.1f} samples/s) '
          f'[{train_rate * TRAIN_GFLOP / one_thread_gflops:.0%} of one core\'s]')


def bench_loader():
    from fake_data import write_generated_split
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / 'original' / 'ntu-xsub'
        write_generated_split(folder, 'train', [i % 60 for i in range(5 * BATCH)])
        write_generated_split(folder, 'eval', [0] * BATCH)
        cfg = load_config('2001')
        cfg['dataset_args']['ntu'].update(root_folder=root, num_workers=2)
        net, graph, *_ = build_model(cfg)
        cpu_backend.install(net)
        feeder = build_feeders(cfg, graph, ['train'])['train']
        loader = build_loader(cfg, feeder, 'train')
        _, lr = build_scheduler(cfg, len(loader))
        optimizer = build_optimizer(cfg, net, lr)
        net.train()
        wait = compute = 0.0
        batches = iter(loader)
        next(batches)   # workers start
        for _ in range(len(loader) - 1):
            start = time.perf_counter()
            data, label, _ = next(batches)
            got = time.perf_counter()
            logits, _ = net(data)
            paddle.nn.functional.cross_entropy(logits, label).backward()
            optimizer.step()
            optimizer.clear_grad()
            wait += got - start
            compute += time.perf_counter() - got
        print(f'loader share of a training step (num_workers 2): {wait / (wait + compute):.1%}')


if __name__ == '__main__':
    print(f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}, {os.cpu_count()} cores')
    rate, one_thread_rate = gemm_gflops(), one_thread_gemm_gflops()
    print(f'numpy fp32 matrix multiply: {rate:.0f} GFLOP/s on every core '
          f'[{one_thread_rate:.0f} on one]')
    bench_inputs()
    bench_model(rate, one_thread_rate)
    bench_loader()
