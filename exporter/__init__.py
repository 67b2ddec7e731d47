"""-ex: the eval-mode model as a static graph with a free batch size, plus its inference config.

Next to the checkpoint `<stem>.pdparams` (or the authors' `<stem>.pth.tar`: program.export_stem)
it writes `<stem>.json` (or `.pdmodel`), `<stem>.pdiparams` and `<stem>.yml`, so that infer.py
needs only the model file to match training. The graph is the re-parameterised model (batch
norms folded) in the forms of paddle_forms.py, which Paddle Inference's oneDNN runs fastest; its
residual 1x1 convs stay convs (oneDNN fuses them with their add; as an identity hop of the graph
conv they were 3% slower). The .onnx is the folded model in its own forms, the residual convs
merged (onnx_file.py).

Everything -ex does runs on the CPU in float32, whatever device the model was built on (the
device is restored after): the files do not depend on it, and a GPU's TF32 convolutions (cuDNN's
default on Ampere and newer; Paddle 3.3's FLAGS_cudnn_allow_tf32) round their inputs to a 10-bit
mantissa, which moves the published X-sub model's logits by about 2e-2, far beyond the round
trips' 1e-4. How the exported model runs on a GPU is tools/check_gpu.py's to check.
"""
import contextlib
import copy
import logging

import numpy as np
import paddle
import yaml

import model as model_zoo
from dataset import class_names, dataset_args_of, input_format
from reader.video.timing import DEFAULT_FRAME_RATE
from utils.errors import UserError

from . import onnx_file, paddle_forms
from .program import beside, export_stem, save_program

logger = logging.getLogger(__name__)
EXPORT_TOLERANCE = 1e-4
CHECKED_ON = 'on the CPU in float32'


class LogitsOnly(paddle.nn.Layer):
    """Deployment needs only the logits, not the feature map."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def inference_config(cfg, data_shape, num_class, graph, model_file, params_file):
    dataset_args = dataset_args_of(cfg)
    return {
        'model_file': model_file, 'params_file': params_file,
        'config': cfg['config'], 'model_type': cfg['model_type'], 'dataset': cfg['dataset'],
        **input_format(cfg['dataset'], cfg['dataset_args']),
        'connect_joint': graph.connect_joint.tolist(), 'center': int(graph.center),
        'inputs': dataset_args['inputs'], 'num_frame': dataset_args['num_frame'],
        'frame_rate': float(dataset_args.get('frame_rate') or DEFAULT_FRAME_RATE),
        'num_class': num_class,
        'input_shape': [-1] + list(data_shape),
        'class_names': class_names(cfg['dataset'], cfg['dataset_args'], num_class),
    }


def check_round_trip(reference, saved, name, data_shape, batch_size=2):
    """saved(x) (an exported model run on a numpy batch) must give the dygraph model's logits
    on a random batch; returns the largest difference."""
    x = paddle.randn([batch_size] + list(data_shape))
    with paddle.no_grad():
        expected = reference(x)[0].numpy()
    difference = float(np.abs(saved(x.numpy()) - expected).max())
    if not difference <= EXPORT_TOLERANCE:
        raise UserError(f'exported model {name} differs from the dygraph model by {difference:.2e} '
                        f'(tolerance {EXPORT_TOLERANCE})')
    return difference


def paddle_program(stem):
    """The saved static program as a function of a numpy batch."""
    loaded = paddle.jit.load(str(stem))
    loaded.eval()

    def run(x):
        with paddle.no_grad():
            got = loaded(paddle.to_tensor(x))
        return (got[0] if isinstance(got, (list, tuple)) else got).numpy()
    return run


@contextlib.contextmanager
def on_the_cpu():
    """paddle's device set to the CPU inside, the caller's device restored after."""
    device = paddle.get_device()
    paddle.set_device('cpu')
    try:
        yield
    finally:
        paddle.set_device(device)


def cpu_copy(layer):
    """layer itself when its weights are on the CPU, else a copy of it moved there."""
    weight = next(iter(layer.parameters()), None)
    if weight is None or weight.place.is_cpu_place():
        return layer
    return copy.deepcopy(layer).to(device='cpu')


def export(net, checkpoint_path, cfg, graph, data_shape, num_class, reference=None):
    """The network `net` (with the weights of checkpoint_path, beside which the files go) as
    <stem>.json/.pdiparams (Paddle Inference, its forms), <stem>.onnx (the plain forms, when
    paddle2onnx and ONNX Runtime are installed) and <stem>.yml for the config `cfg`; each
    checked against `reference`, the dygraph eval model (default: net re-parameterised), on
    the CPU in float32 (on_the_cpu; the module's docstring says why). A reference made while
    paddle's device was a GPU is folded again on the CPU: its fold's products ran there, in TF32
    where cuBLAS allows it."""
    built_on_cpu = paddle.get_device() == 'cpu'
    with on_the_cpu():
        return export_on_cpu(cpu_copy(net), checkpoint_path, cfg, graph, data_shape, num_class,
                             reference if built_on_cpu else None)


def export_on_cpu(net, checkpoint_path, cfg, graph, data_shape, num_class, reference=None):
    stem = export_stem(checkpoint_path)
    reference = reference or model_zoo.reparameterize(net)
    plain = LogitsOnly(model_zoo.reparameterize(net))
    folded = model_zoo.reparameterize(net, merge_residual_conv=False)
    paddle_forms.install(folded)
    model_file = save_program(LogitsOnly(folded), stem, data_shape)
    params_file = beside(stem, '.pdiparams')
    config = inference_config(cfg, data_shape, num_class, graph, model_file.name,
                              params_file.name)
    with open(beside(stem, '.yml'), 'w') as f:
        yaml.safe_dump(config, f, sort_keys=False)
    difference = check_round_trip(reference, paddle_program(stem), model_file, data_shape)
    logger.info('Exported %s and %s (inference config %s); saved model matches the dygraph '
                'model within %.1e, checked %s (max difference %.2e)', model_file, params_file,
                beside(stem, '.yml'), EXPORT_TOLERANCE, CHECKED_ON, difference)
    written = [model_file, params_file, beside(stem, '.yml')]
    onnx_path = onnx_file.write_onnx(plain, beside(stem, '.onnx'), data_shape)
    if onnx_path is not None:
        difference = check_round_trip(reference, lambda x: onnx_file.onnx_logits(onnx_path, x),
                                      onnx_path, data_shape)
        logger.info('Exported %s (opset %d); in ONNX Runtime it matches the dygraph model '
                    'within %.1e, checked %s (max difference %.2e)', onnx_path, onnx_file.OPSET,
                    EXPORT_TOLERANCE, CHECKED_ON, difference)
        written.append(onnx_path)
    return written
