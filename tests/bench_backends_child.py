"""One timing of bench_backends.py, in a process of its own, on one source tree (this one or a
checked-out earlier commit): prints one JSON line {"seconds": [...]} per timed run.

    python tests/bench_backends_child.py TREE MODE [--runs N] [--model-file F]

MODE: eval-backend, eval-plain, train-backend, train-plain (this layout: the CPU backend on or
not), eval-as-main, train-as-main (what main.py runs, in any tree, the earlier layout included),
export-as-main, export-plain-forms (write the exported model next to --model-file's stem),
inference (time Paddle Inference on --model-file as infer.py runs it).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

BATCH, FRAMES = 16, 288


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('tree')
    parser.add_argument('mode')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--model-file', default=None)
    return parser.parse_args()


ARGS = parse_args()
TREE = Path(ARGS.tree).resolve()
sys.path.insert(0, str(TREE))
UTILS_PACKAGE = (TREE / 'utils' / 'runtime.py').is_file()
NEW_LAYOUT = UTILS_PACKAGE or (TREE / 'runtime.py').is_file()
OPENMP_SPIN = ARGS.mode == 'inference'   # as infer.py runs; main.py stops the spin

if UTILS_PACKAGE:
    from utils import runtime
    runtime.tune_process(openmp_spin=OPENMP_SPIN)
    paddle = runtime.import_paddle()
    from utils.config import load_config
elif NEW_LAYOUT:   # the helpers at the top level, before the utils package
    import runtime
    runtime.tune_process(openmp_spin=OPENMP_SPIN)
    paddle = runtime.import_paddle()
    from config import load_config
else:   # the layout before the backends: utils.py
    import utils
    utils.restart_with_huge_pages()
    paddle = utils.import_paddle(openmp_spin=OPENMP_SPIN)
    from utils import load_config
import numpy as np  # noqa: E402

os.chdir(TREE)   # after the settings: a restart runs this script again from where it started


def timed_runs(fn, runs):
    fn()   # warm-up
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def b0(backend):
    from initializer import build_model
    paddle.set_device('cpu')
    paddle.seed(0)
    net = build_model(load_config('2001'))[0]
    if backend:
        from model import cpu_backend
        cpu_backend.install(net)
    return net


def eval_model(backend):
    """The eval model as -e runs it in this layout: folded, with the backend if asked."""
    net = b0(False)
    if NEW_LAYOUT:
        import model
        net = model.reparameterize(net) if backend else net
        if backend:
            from model import cpu_backend
            cpu_backend.install(net)
    net.eval()
    return net


def eval_seconds(backend):
    net = eval_model(backend)
    x = paddle.to_tensor(np.random.RandomState(0).standard_normal(
        (BATCH, 3, 6, FRAMES, 25, 2)).astype(np.float32))

    def run():
        with paddle.no_grad():
            net(x)[0].numpy()
    return timed_runs(run, ARGS.runs)


def train_seconds(backend):
    import paddle.nn.functional as F
    net = b0(backend and NEW_LAYOUT)
    net.train()
    optimizer = paddle.optimizer.Momentum(0.01, momentum=0.9, use_nesterov=True,
                                          weight_decay=1e-4, parameters=net.parameters())
    x = paddle.to_tensor(np.random.RandomState(0).standard_normal(
        (BATCH, 3, 6, FRAMES, 25, 2)).astype(np.float32))
    label = paddle.to_tensor(np.arange(BATCH) % 60)

    def step():
        loss = F.cross_entropy(net(x)[0], label)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)
    return timed_runs(step, ARGS.runs)


def export(plain_forms):
    """The exported B0 of this layout (random weights, beside --model-file's stem); with
    plain_forms, the folded model in its own forwards, none of the exporter's forms."""
    stem = Path(ARGS.model_file).with_suffix('')
    net = b0(False)
    if plain_forms:
        import model
        from exporter import LogitsOnly
        from exporter.program import save_program
        save_program(LogitsOnly(model.reparameterize(net, merge_residual_conv=False)), stem,
                     [3, 6, FRAMES, 25, 2])
        return []
    else:
        checkpoint = stem.with_suffix('.pdparams')
        paddle.save({'model': net.state_dict()}, str(checkpoint))
        import subprocess
        result = subprocess.run([sys.executable, 'main.py', '-c', '2001', '-ex', '-pp',
                                 str(checkpoint), '-g'], capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(result.stderr[-2000:])
        return []


def inference_seconds():
    import infer
    model_file = Path(ARGS.model_file)
    threads = os.cpu_count() or 1
    args = infer.build_parser().parse_args(['--model_file', str(model_file), '--cpu_threads',
                                            str(threads)])
    params_file = model_file.with_suffix('.pdiparams')
    if (TREE / 'deploy' / 'options.py').is_file():
        from deploy.options import RuntimeOptions
        from deploy.runtimes import make_runner
        runner = make_runner(model_file, params_file, RuntimeOptions(cpu_threads=threads),
                             threads)
    elif (TREE / 'deploy').is_dir():
        from deploy.runtimes import make_runner
        runner = make_runner(args, params_file, threads)
    else:   # before the deploy package, infer.py held the runtimes
        runner = infer.Runner(infer.inference_config(args, model_file, params_file, threads),
                              model_file)
    x = np.random.RandomState(0).standard_normal((BATCH, 3, 6, FRAMES, 25, 2)).astype(np.float32)
    return timed_runs(lambda: runner(x), ARGS.runs)


MODES = {
    'eval-backend': lambda: eval_seconds(True),
    'eval-plain': lambda: eval_seconds(False),
    'eval-as-main': lambda: eval_seconds(True),
    'train-backend': lambda: train_seconds(True),
    'train-plain': lambda: train_seconds(False),
    'train-as-main': lambda: train_seconds(True),
    'export-as-main': lambda: export(False),
    'export-plain-forms': lambda: export(True),
    'inference': inference_seconds,
}

if __name__ == '__main__':
    print(json.dumps({'seconds': MODES[ARGS.mode]()}))
