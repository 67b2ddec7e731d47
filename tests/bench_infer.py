"""CPU throughput of Paddle Inference (with and without oneDNN) and ONNX Runtime against dygraph
eval, in one run.

    python tests/bench_infer.py [--batch-size 16] [--rounds 5] [--warmup 2]

ONNX Runtime runs our exported .onnx and, where PyTorch is installed, the same architecture and
weights exported from PyTorch (tests/torch_mirror.py, torch.onnx.export in a child process, so
that this one never loads torch).

With the shared folder's real files it also exports the quantised forms (`-ex --quantize int8
bf16`, calibrated on the 12 files' X-sub training split) and times them: bf16 in Paddle
Inference, int8 in ONNX Runtime (tests/bench_precisions.py says why the other two are absent).
Each row's last column is its top-1 agreement with the float32 dygraph model on the real files
(the 12 .skeleton files and both clips' windows), and `vs official` its speed over the
PyTorch-exported B0 in ONNX Runtime. int8 against float32 in ONNX Runtime is also timed by CPU
time on one thread, a ratio the shared machine's other work barely moves.

The model is EfficientGCN-B0 (config 2001, 288 frames): the published X-sub checkpoint when the
shared folder is beside the repository, random weights otherwise (speed does not depend on them).
It is exported with `main.py -ex` as a user would. Every engine gets the same batch and its
warm-up runs, then the timed rounds take the engines in turn, so that a change in the machine's
load hits all of them alike. Like main.py and infer.py, it first restarts itself with glibc's
huge-page tunable. For scale it also times numpy on B0's own matrix products, one by one: their
thin shapes run well below the square-matrix rate the bound is set by. Not collected by pytest
(the name does not start with test_).
"""
import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

NUM_CORES = os.cpu_count() or 1
# Deliberately every core for all engines, set before paddle is imported (it reads it once).
os.environ['OMP_NUM_THREADS'] = str(NUM_CORES)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))
SHARED_CHECKPOINT = Path(os.environ.get('EFFICIENTGCN_SHARED', REPO.parent / 'shared')) \
    / 'pretrained' / 'xsub.pdparams'
CONFIG = '2001'

from utils import runtime  # noqa: E402

if __name__ == '__main__':
    # main.py's settings (no spinning OpenMP workers), which the dygraph row needs: with the spin
    # its C kernels' threads wait for the cores (14 against 18 seq/s). infer.py keeps the spin,
    # and runs 0-3% faster than the Paddle Inference rows here.
    runtime.tune_process(openmp_spin=False)
import numpy as np  # noqa: E402

from deploy.options import RuntimeOptions  # noqa: E402
from deploy.runtimes import make_runner  # noqa: E402
from exporter.program import saved_model_file  # noqa: E402
from benchmark_basics import FORWARD_GFLOP, gemm_gflops, one_thread_gemm_gflops, \
    timed  # noqa: E402
from helpers import run_main, run_python  # noqa: E402
import bench_precisions  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--rounds', type=int, default=5, help='timed runs per engine')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs per engine')
    return parser.parse_args()


def make_checkpoint(folder):
    """A link to the published checkpoint (export writes beside it), or random B0 weights."""
    path = Path(folder) / 'xsub.pdparams'
    if SHARED_CHECKPOINT.is_file():
        path.symlink_to(SHARED_CHECKPOINT.resolve())
        return path, 'published X-sub checkpoint'
    import paddle

    import initializer
    from utils.config import load_config
    paddle.seed(0)
    net = initializer.build_model(load_config(CONFIG))[0]
    paddle.save({'model': net.state_dict()}, str(path))
    return path, 'random weights (no shared checkpoint)'


def export(checkpoint, data_root=None):
    """main.py -ex; with data_root (the real files' arrays) also --quantize int8 bf16."""
    quantize = [] if data_root is None else [
        '--quantize', 'int8', 'bf16', '--set', f'dataset_args.ntu.root_folder={data_root}']
    result = run_main('-c', CONFIG, '-ex', '-pp', checkpoint, '-g', *quantize, timeout=None)
    if result.returncode != 0:
        sys.exit(f'export failed:\n{result.stderr[-2000:]}')
    stem = checkpoint.with_suffix('')
    return saved_model_file(stem)


def inference_engine(model_file, batch_size, mkldnn, precision='fp32'):
    """infer.py's own predictor set-up, from the same options a user would give."""
    from deploy.model_config import params_path, read_deploy_config
    options = RuntimeOptions(batch_size=batch_size, cpu_threads=NUM_CORES, enable_mkldnn=mkldnn)
    params = params_path(model_file, None, read_deploy_config(model_file))
    return make_runner(model_file, params, options, NUM_CORES, model_precision=precision)


def onnx_engine(model_file, batch_size):
    """infer.py's ONNX Runtime session, from the same options a user would give."""
    options = RuntimeOptions(batch_size=batch_size, cpu_threads=NUM_CORES)
    return make_runner(model_file, None, options, NUM_CORES)


TORCH_EXPORT = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
import numpy as np, paddle, torch
from utils.config import load_config
from initializer import build_model
from model.checkpoint import load_checkpoint, load_model_state, model_state_of
from torch_mirror import TorchEfficientGCN
net = build_model(load_config({config!r}))[0]
load_model_state(net, model_state_of(load_checkpoint({checkpoint!r})), 'checkpoint')
net.eval()
x = torch.zeros([2, 3, 6, 288, 25, 2])
torch.onnx.export(TorchEfficientGCN(net).eval(), (x,), {path!r}, input_names=['data'],
                  output_names=['logits'], dynamic_axes={{'data': {{0: 'n'}}}}, opset_version=13,
                  dynamo=False)
"""


def torch_onnx_file(checkpoint, folder):
    """The same B0 and weights exported from PyTorch, or None (with a line) without PyTorch."""
    import importlib.util
    if importlib.util.find_spec('torch') is None:
        print('PyTorch is not installed: no row for its ONNX export (pip install torch)')
        return None
    path = Path(folder) / 'torch_b0.onnx'
    code = TORCH_EXPORT.format(repo=str(REPO), tests=str(REPO / 'tests'), config=CONFIG,
                               checkpoint=str(checkpoint), path=str(path))
    result = run_python('-c', code, timeout=None)
    if result.returncode != 0:
        sys.exit(f'the PyTorch export failed:\n{result.stderr[-2000:]}')
    return path


def dygraph_engine(checkpoint):
    """The eval-mode dygraph model as -e runs it."""
    import paddle

    import initializer
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from utils.config import load_config
    import model
    from model import cpu_backend
    paddle.set_device('cpu')
    net = initializer.build_model(load_config(CONFIG))[0]
    load_model_state(net, model_state_of(load_checkpoint(checkpoint)), checkpoint)
    net = model.reparameterize(net)   # as the engine evaluates on the CPU
    cpu_backend.install(net)

    def run(batch):
        # Each predictor run leaves the math library (MKL, dygraph's matmul) on one thread for
        # the whole process, which made this row 30% slower than main.py -e runs.
        paddle.base.core.set_num_threads(NUM_CORES)
        with paddle.no_grad():
            return net(paddle.to_tensor(batch))[0].numpy()
    return run


def matrix_products(batch):
    """(m, k, n) of each matrix product in B0's forward pass on batch, as one GEMM each: a graph
    conv as its aggregation over joints, (S*C*T, V) @ (V, K*V), and its channel mixing,
    (O, C*K) @ (C*K, S*T*V); any other conv with groups 1 as (O, C*kh*kw) @ (C*kh*kw, S*T'*V).
    Depthwise convs and the attention's products are elementwise work, left out. Recorded in
    train mode, where no eval-mode fold skips a conv."""
    import paddle

    import initializer
    from utils.config import load_config
    from model.layers import SpatialGraphConv
    net = initializer.build_model(load_config(CONFIG))[0]
    shapes = []

    def graph_conv(layer, inputs):
        s, c, t, v = inputs[0].shape
        k = layer.s_kernel_size
        shapes.extend([(s * c * t, v, k * v), (layer.gcn._out_channels // k, c * k, s * t * v)])

    def conv(layer, inputs, y):
        weight = layer.weight
        shapes.append((weight.shape[0], int(np.prod(weight.shape[1:])),
                       y.shape[0] * y.shape[2] * y.shape[3]))
    graph_convs = {id(layer.gcn) for layer in net.sublayers()
                   if isinstance(layer, SpatialGraphConv)}
    for layer in net.sublayers():
        if isinstance(layer, SpatialGraphConv):
            layer.register_forward_pre_hook(graph_conv)
        elif isinstance(layer, paddle.nn.Conv2D) and layer._groups == 1 \
                and id(layer) not in graph_convs:   # the graph conv's is counted above
            layer.register_forward_post_hook(conv)
    with paddle.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')   # batch norm's note on train-mode statistics
        net(paddle.to_tensor(batch))
    return shapes


def numpy_seconds(shapes):
    """numpy's time for the products one by one, on every core."""
    total = 0.0
    for m, k, n in shapes:
        a, b = np.random.rand(m, k).astype(np.float32), np.random.rand(k, n).astype(np.float32)
        total += timed(lambda: a @ b, 3)
    return total


def measure(engines, batch, warmup, rounds):
    """Seconds per batch of each engine: warm-up, then rounds taking the engines in turn."""
    import time
    outputs = {name: engine(batch) for name, engine in engines.items()}
    for _ in range(warmup - 1):
        for engine in engines.values():
            engine(batch)
    times = {name: [] for name in engines}
    for _ in range(rounds):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine(batch)
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}, outputs


def print_table(times, outputs, batch_size, bound, one_thread_bound, agreements):
    """`bound`: sequences/s at this machine's matrix-multiply rate and B0's forward FLOPs;
    `one_thread_bound` the same at one core's rate, of which the goals' figures for a
    straightforward port are fractions (1.6 seq/s = 6% eval). `agreements`: name -> (top-1
    equal to float32's, samples) on the real files."""
    reference = 'dygraph eval'
    base = batch_size / times[reference].mean()
    official = times.get(OFFICIAL)
    print(f'{"engine":<38} {"seq/s":>8} {"ms/batch":>10} {"min ms":>8} {"vs dygraph":>11} '
          f'{"vs official":>12} {"of bound":>9} {"[1 core]":>9} {"max |dlogit|":>13} '
          f'{"top-1 = fp32":>13}')
    for name, t in times.items():
        throughput = batch_size / t.mean()
        difference = np.abs(outputs[name] - outputs[reference]).max()
        versus = '-' if official is None else f'{throughput * official.mean() / batch_size:.2f}x'
        same = agreements.get(name)
        print(f'{name:<38} {throughput:8.2f} {1000 * t.mean():10.1f} {1000 * t.min():8.1f} '
              f'{throughput / base:10.2f}x {versus:>12} {throughput / bound:9.1%} '
              f'{throughput / one_thread_bound:9.0%} {difference:13.2e} '
              f'{"-" if same is None else f"{same[0]}/{same[1]}":>13}')


OFFICIAL = 'ONNX Runtime, PyTorch-exported B0'


def main():
    args = parse_args()
    paddle = runtime.import_paddle()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint, weights = make_checkpoint(folder)
        model_file = export(checkpoint, bench_precisions.calibration_sets(folder, run_main))
        engines = {
            'dygraph eval': dygraph_engine(checkpoint),
            'Paddle Inference, oneDNN off': inference_engine(model_file, args.batch_size, False),
            'Paddle Inference, oneDNN on (default)': inference_engine(model_file, args.batch_size,
                                                                      True),
        }
        onnx_model = model_file.with_suffix('.onnx')
        if onnx_model.is_file():
            engines['ONNX Runtime, our .onnx'] = onnx_engine(onnx_model, args.batch_size)
        else:
            print('no .onnx was exported (pip install paddle2onnx onnxruntime): no ONNX rows')
        torch_model = torch_onnx_file(checkpoint, folder) if onnx_model.is_file() else None
        if torch_model is not None:
            engines[OFFICIAL] = onnx_engine(torch_model, args.batch_size)
        engines.update(bench_precisions.quantised_engines(
            model_file, lambda path, precision: inference_engine(path, args.batch_size, True,
                                                                 precision),
            lambda path: onnx_engine(path, args.batch_size)))
        batch = np.random.RandomState(0).standard_normal(
            (args.batch_size, 3, 6, 288, 25, 2)).astype(np.float32)
        print(f'EfficientGCN-B0 (config {CONFIG}, {weights}), batch {args.batch_size} x 288 '
              f'frames, {NUM_CORES} CPU threads (OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}), '
              f'paddle {paddle.__version__}; {args.warmup} warm-up + {args.rounds} timed runs each; '
              f'load average {os.getloadavg()[0]:.1f}')
        times, outputs = measure(engines, batch, args.warmup, args.rounds)
        bench_precisions.print_onnx_profiles(model_file, batch, NUM_CORES)
        bench_precisions.print_cpu_costs(model_file, batch[:8])
        described, real = bench_precisions.real_file_inputs(model_file)
        agreements = {} if real is None else bench_precisions.top1_agreements(
            engines, real, 'dygraph eval', args.batch_size)
    gflops, one_thread_gflops = gemm_gflops(), one_thread_gemm_gflops()
    bound, one_thread_bound = gflops / FORWARD_GFLOP, one_thread_gflops / FORWARD_GFLOP
    print(f'numpy fp32 matrix multiply: {gflops:.0f} GFLOP/s on every core '
          f'[{one_thread_gflops:.0f} on one]; bound for B0 ({FORWARD_GFLOP} GFLOP per '
          f'sequence): {bound:.1f} sequences/s [{one_thread_bound:.1f}]')
    shapes = matrix_products(batch)
    seconds = numpy_seconds(shapes)
    products_gflop = sum(2 * m * k * n for m, k, n in shapes) / 1e9 / args.batch_size
    print(f'numpy on the {len(shapes)} matrix products of B0, one by one on every core '
          f'({products_gflop:.2f} GFLOP per sequence): {1000 * seconds:.0f} ms per batch = '
          f'{args.batch_size / seconds:.1f} sequences/s = {args.batch_size / seconds / bound:.1%} '
          f'of the bound (thin matrices run below the square-matrix rate)')
    if agreements:
        print(f'top-1 = fp32: the samples of the real files ({described}) whose top-1 is the '
              f'float32 dygraph model\'s')
    print_table(times, outputs, args.batch_size, bound, one_thread_bound, agreements)
    print(f'load average at the end {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
