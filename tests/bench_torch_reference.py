"""The speed goals' PyTorch reference, measured: EfficientGCN-B0 in PyTorch eager on this machine.

    pip install torch        # a CPU build; PyTorch is not a dependency of this repository
    python tests/bench_torch_reference.py

Issue 6 calibrates its goals with 'the same architecture in PyTorch eager'. This builds that
model from our Paddle B0 (config 2001), layer by layer with the same weights, computed the way
the official PyTorch implementation does it: the graph convolution as a 1x1 conv to K x C
channels then an einsum over hops and joints, the joint attention as a product of two sigmoid
maps. It first checks that both frameworks give the same logits (within 1e-4), so the timed
model is the same function. Then, on every core, eval throughput (batch 16, 288 frames,
no_grad) and training-step throughput (forward, backward, SGD with Nesterov momentum), each as
the fraction of the bounds bench_train.py uses (numpy's GEMM rate on every core, and on one in
brackets).

The timing runs in child processes without paddle, twice: with glibc's malloc as it comes, as a
plain PyTorch script runs, and with freed memory kept for reuse (utils.keep_freed_memory, as
this repository's processes run), which roughly doubles PyTorch's CPU speed here.
Not collected by pytest (the name does not start with test_).
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import torch
    import torch.nn as tnn
except ImportError:
    sys.exit('PyTorch is not installed: `pip install torch` (a CPU build is enough) to run this '
             'comparison; nothing else in the repository needs it.')

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from timing import timed  # noqa: E402

ORIGINAL_ENVIRONMENT = dict(os.environ)   # before paddle's import changes the thread settings
CONFIG = '2001'
BATCH, FRAMES = 16, 288   # as bench_train.py (which imports paddle, so not imported here)
NUM_CORES = os.cpu_count() or 1
ACTIVATIONS = {'Swish': tnn.SiLU, 'ReLU': tnn.ReLU, 'ReLU6': tnn.ReLU6, 'Hardswish': tnn.Hardswish}


def tensor(value):
    """A Paddle tensor's values as a torch tensor."""
    return torch.from_numpy(np.array(value.numpy(), dtype=np.float32))


def conv(layer):
    """A torch conv with a Paddle Conv2D / Conv3D's settings and weights."""
    cls = tnn.Conv3d if type(layer).__name__ == 'Conv3D' else tnn.Conv2d
    padding = layer._padding if isinstance(layer._padding, int) else tuple(layer._padding)
    out = cls(layer._in_channels, layer._out_channels, tuple(layer._kernel_size),
              tuple(layer._stride), padding, groups=layer._groups, bias=layer.bias is not None)
    out.weight.data = tensor(layer.weight)
    if layer.bias is not None:
        out.bias.data = tensor(layer.bias)
    return out


def batch_norm(layer):
    out = tnn.BatchNorm2d(layer.weight.shape[0], eps=layer._epsilon)
    out.weight.data, out.bias.data = tensor(layer.weight), tensor(layer.bias)
    out.running_mean.data, out.running_var.data = tensor(layer._mean), tensor(layer._variance)
    return out


def conv_bn(layer):
    """Our ConvBN (conv, BN) as a torch Sequential."""
    return tnn.Sequential(conv(layer[0]), batch_norm(layer[1]))


def residual(layer):
    if type(layer).__name__ == 'Identity':
        return tnn.Identity()
    if type(layer).__name__ == 'ConvBN':
        return conv_bn(layer)
    raise NotImplementedError(f'residual {type(layer).__name__} is not mirrored')


def activation(layer):
    name = type(layer).__name__
    if name not in ACTIVATIONS:
        raise NotImplementedError(f'activation {name} is not mirrored')
    return ACTIVATIONS[name]()


class GraphLayer(tnn.Module):
    """act(BN(einsum(conv(x), A * edge)) + residual(x)), the official order."""

    def __init__(self, layer):
        super().__init__()
        self.hops = layer.conv.s_kernel_size
        self.gcn = conv(layer.conv.gcn)
        self.register_buffer('adjacency', tensor(layer.conv.A * layer.conv.edge))
        self.bn, self.residual = batch_norm(layer.bn), residual(layer.residual)
        self.act = activation(layer.act)

    def forward(self, x):
        y = self.gcn(x)
        n, kc, t, v = y.shape
        y = torch.einsum('nkctv,kvw->nctw', y.view(n, self.hops, kc // self.hops, t, v),
                         self.adjacency)
        return self.act(self.bn(y) + self.residual(x))


class BasicLayer(tnn.Module):
    def __init__(self, layer):
        super().__init__()
        self.conv = tnn.Sequential(conv(layer.conv), batch_norm(layer.bn))
        self.residual, self.act = residual(layer.residual), activation(layer.act)

    def forward(self, x):
        return self.act(self.conv(x) + self.residual(x))


class SandglassLayer(tnn.Module):
    def __init__(self, layer):
        super().__init__()
        self.depth_conv1, self.point_conv1 = conv_bn(layer.depth_conv1), conv_bn(layer.point_conv1)
        self.point_conv2, self.depth_conv2 = conv_bn(layer.point_conv2), conv_bn(layer.depth_conv2)
        self.residual, self.act = residual(layer.residual), activation(layer.act)

    def forward(self, x):
        res = self.residual(x)
        x = self.point_conv1(self.act(self.depth_conv1(x)))
        return self.depth_conv2(self.act(self.point_conv2(x))) + res


class JointAttentionLayer(tnn.Module):
    """act(BN(x * sigmoid(conv_t(.)) sigmoid(conv_v(.))^T) + x)."""

    def __init__(self, layer):
        super().__init__()
        att = layer.att
        self.fcn = tnn.Sequential(conv(att.fcn[0]), batch_norm(att.fcn[1]), tnn.Hardswish())
        self.conv_t, self.conv_v = conv(att.conv_t), conv(att.conv_v)
        self.bn, self.act = batch_norm(layer.bn), activation(layer.act)

    def forward(self, x):
        t, v = x.shape[2], x.shape[3]
        pooled = torch.cat([x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)], 2)
        att_t, att_v = torch.split(self.fcn(pooled), [t, v], 2)
        att = self.conv_t(att_t).sigmoid() * self.conv_v(att_v).sigmoid().transpose(2, 3)
        return self.act(self.bn(x * att) + x)


def mirror_layer(layer):
    """The torch form of one layer of our EfficientGCN_Blocks (B0's kinds)."""
    name = type(layer).__name__
    if name == 'Attention_Layer' and type(layer.att).__name__ == 'ST_Joint_Att':
        return JointAttentionLayer(layer)
    mirrors = {'BatchNorm2D': batch_norm, 'Spatial_Graph_Layer': GraphLayer,
               'Temporal_Basic_Layer': BasicLayer, 'Temporal_SG_Layer': SandglassLayer}
    if name not in mirrors:
        raise NotImplementedError(f'{name} is not mirrored (B0 with SG layers and joint '
                                  'attention is)')
    return mirrors[name](layer)


class TorchEfficientGCN(tnn.Module):
    def __init__(self, net):
        super().__init__()
        self.input_branches = tnn.ModuleList(
            tnn.Sequential(*[mirror_layer(layer) for layer in branch.children()])
            for branch in net.input_branches)
        self.main_stream = tnn.Sequential(*[mirror_layer(layer)
                                            for layer in net.main_stream.children()])
        self.dropout = tnn.Dropout(net.classifier.dropout.p)
        self.fc = conv(net.classifier.fc)

    def forward(self, x):
        n, i, c, t, v, m = x.shape
        x = x.permute(1, 0, 5, 2, 3, 4).reshape(i, n * m, c, t, v)
        x = torch.cat([branch(x[k]) for k, branch in enumerate(self.input_branches)], 1)
        x = self.main_stream(x)
        _, c, t, v = x.shape
        feature = x.view(n, m, c, t, v).permute(0, 2, 3, 4, 1)
        return self.fc(self.dropout(feature.mean((2, 3, 4), keepdim=True))).flatten(1)


def paddle_b0(paddle):
    """Config 2001's model with random weights; batch norms, edges and the classifier are made
    far from their initial values, so that the comparison exercises every parameter and the
    logits are of order 1."""
    from initializer import build_model
    from utils import load_config
    paddle.seed(0)
    net = build_model(load_config(CONFIG))[0]
    rng = np.random.RandomState(0)

    def randomise(value, low, high):
        value.set_value(rng.uniform(low, high, value.shape).astype('float32'))
    for layer in net.sublayers():
        if isinstance(layer, paddle.nn.BatchNorm2D):
            for value in (layer.bias, layer._mean):
                randomise(value, -0.5, 0.5)
            for value in (layer.weight, layer._variance):
                randomise(value, 0.5, 1.5)
        elif isinstance(getattr(layer, 'edge', None), paddle.Tensor):
            randomise(layer.edge, 0.5, 1.5)
    randomise(net.classifier.fc.weight, -0.2, 0.2)
    return net.eval()


def mirrored_b0(folder):
    """Build the Paddle B0, mirror it in torch, check both give the same logits, and save the
    torch model for the timing processes."""
    from bench_train import paddle   # imported as the Paddle benchmarks import it
    net = paddle_b0(paddle)
    torch_net = TorchEfficientGCN(net).eval()
    x = np.random.RandomState(1).standard_normal((2, 3, 6, 64, 25, 2)).astype(np.float32)
    with paddle.no_grad():
        expected = net(paddle.to_tensor(x))[0].numpy()
    with torch.no_grad():
        got = torch_net(torch.from_numpy(x)).numpy()
    difference = float(np.abs(got - expected).max())
    if difference > 1e-4:
        sys.exit(f'the PyTorch mirror differs from the Paddle model by {difference:.2e}')
    print(f'PyTorch mirror of B0 (config {CONFIG}): the same logits as the Paddle model '
          f'(max difference {difference:.1e}, logits up to {np.abs(expected).max():.1f})')
    path = Path(folder) / 'b0.pt'
    torch.save(torch_net, path)
    return path


def measure(model_file):
    """Eval sequences/s and training samples/s of the saved torch model, on every core."""
    torch.set_num_threads(NUM_CORES)
    torch_net = torch.load(model_file, weights_only=False)
    torch.manual_seed(0)
    x = torch.randn(BATCH, 3, 6, FRAMES, 25, 2)
    labels = torch.randint(0, 60, (BATCH,))
    torch_net.eval()
    with torch.no_grad():
        eval_seconds = timed(lambda: torch_net(x), 5)
    torch_net.train()
    optimizer = torch.optim.SGD(torch_net.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)

    def step():
        optimizer.zero_grad()
        tnn.functional.cross_entropy(torch_net(x), labels).backward()
        optimizer.step()
    return BATCH / eval_seconds, BATCH / timed(step, 3)


def measure_in_child(model_file, keep_freed_memory):
    """measure() in a new process without paddle, with the user's own environment."""
    command = [sys.executable, __file__, '--measure', str(model_file)]
    if keep_freed_memory:
        command.append('--keep-freed-memory')
    result = subprocess.run(command, env=ORIGINAL_ENVIRONMENT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f'timing process failed:\n{result.stderr[-2000:]}')
    return [float(value) for value in result.stdout.split()[-2:]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--measure', help=argparse.SUPPRESS)   # the timing child's model file
    parser.add_argument('--keep-freed-memory', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        if args.keep_freed_memory:
            from utils import keep_freed_memory
            keep_freed_memory()
        print(*measure(args.measure))
        return
    with tempfile.TemporaryDirectory() as folder:
        model_file = mirrored_b0(folder)
        rates = {allocator: measure_in_child(model_file, keep)
                 for allocator, keep in (('glibc malloc as it comes', False),
                                         ('freed memory kept, as main.py runs', True))}
    from bench_train import FORWARD_GFLOP, TRAIN_GFLOP, gemm_gflops, one_thread_gemm_gflops
    gflops, one_thread = gemm_gflops(), one_thread_gemm_gflops()
    print(f'torch {torch.__version__}, {NUM_CORES} threads, batch {BATCH} x {FRAMES} frames; '
          f'numpy fp32 matrix multiply: {gflops:.0f} GFLOP/s on every core [{one_thread:.0f} '
          f'on one]')
    for allocator, (eval_rate, train_rate) in rates.items():
        print(f'PyTorch eager, {allocator}:')
        print(f'  eval     {eval_rate:6.2f} sequences/s = {eval_rate * FORWARD_GFLOP / gflops:.1%}'
              f' of the bound [{eval_rate * FORWARD_GFLOP / one_thread:.0%} of one core\'s]')
        print(f'  training {train_rate:6.2f} samples/s   = {train_rate * TRAIN_GFLOP / gflops:.1%}'
              f' of the bound [{train_rate * TRAIN_GFLOP / one_thread:.0%} of one core\'s]')


if __name__ == '__main__':
    main()
