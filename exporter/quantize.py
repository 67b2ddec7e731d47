"""-ex --quantize int8|bf16: the exported float32 model in a lower precision beside it,
calibrated on samples of the config's own training data, and checked against float32 before it
becomes a choice of infer.py's `--precision auto`.

- int8: the `.onnx` statically quantised by ONNX Runtime (QDQ; weights per channel; activations
  by min-max over `quantization.calibration_samples` training samples) into `<stem>_int8.onnx`:
  the convs, less those that stay float32: the graph convolutions (graph_conv_nodes), the
  classifier, and the convs the sensitivity scan on the calibration samples puts back
  (exporter/sensitivity.py; the .yml's `sensitivity_scan` lists them). Elementwise ops stay
  float32. Activations are uint8 and weights int8 (7-bit, reduce_range): ONNX Runtime's CPU
  provider fuses each quantised conv into its int8 QLinearConv (MLAS's u8s8 kernels: AVX2's
  vpmaddubsw here, VNNI's vpdpbusd where the CPU has it); with int8 activations it ran them in
  float32 between the Q/DQ ops (docs/deployment.md has the figures).
  Paddle Inference has no int8 form of this program on the CPU: in Paddle 3.3 its oneDNN int8
  passes belong to the old program format, and for PIR (.json) programs it runs the quantize
  ops of a quantised program as float32 (kPirCpuPasses deletes them; kPirMkldnnPasses has no
  int8 pass), so the int8 model is ONNX Runtime's.
- bf16: `<stem>_bf16.json`, the float32 program, which Paddle Inference runs through oneDNN's
  bfloat16 passes (Config.enable_mkldnn_bfloat16). Paddle enables them only on AVX-512 CPUs
  (avx512_core; without avx512_bf16 oneDNN emulates bfloat16); elsewhere it runs float32, and
  the check says so. ONNX Runtime's CPU provider has no bfloat16 convolutions: no bf16 .onnx.

The check runs both models on the calibration samples and as many held-out eval samples and
reports top-1 agreement and the largest logit difference. Below `quantization.min_agreement` the
model is still written, to be inspected, but not accepted: one warning line, its .yml records
it, and float32 stays the default.
"""
import logging
import shutil
from pathlib import Path

import numpy as np
import yaml

from dataset import dataset_args_of, generated_data_folder
from utils.errors import ConfigError, UserError

from deploy.precision import bf16_note

from . import sensitivity
from .onnx_file import onnx_session
from .program import saved_model_file

logger = logging.getLogger(__name__)
PRECISIONS = ('int8', 'bf16')
BATCH = 4   # samples per calibration and check batch
QUANTIZED_OPS = ['Conv']   # elementwise ops and the graph convolutions stay float32
MIN_SHARE = 0.01   # of the conv multiply-adds, for a conv to be quantised (int8_candidates)


def quantization_settings(cfg):
    """The config's quantization entries, checked: calibration_samples, min_agreement and
    max_logit_change (None: no sensitivity scan)."""
    settings = cfg.get('quantization') or {}
    count, minimum = settings.get('calibration_samples'), settings.get('min_agreement')
    change = settings.get('max_logit_change')
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f'quantization.calibration_samples must be a whole number of at least '
                          f'1, got {count!r}')
    if not is_share(minimum):
        raise ConfigError(f'quantization.min_agreement must be a share between 0 and 1, got '
                          f'{minimum!r}')
    if change is not None and (isinstance(change, bool) or not isinstance(change, (int, float))
                               or change <= 0):
        raise ConfigError(f'quantization.max_logit_change must be a share of the logit spread '
                          f'above 0, or empty for no sensitivity scan, got {change!r}')
    return {'calibration_samples': count, 'min_agreement': float(minimum),
            'max_logit_change': None if change is None else float(change)}


def is_share(value):
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 1


# ---------------------------------------------------------------- calibration set
def spread_indices(total, count):
    """`count` indices spread over [0, total) (the arrays are sorted by file name, so the first
    ones would be a few actions only)."""
    return np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))


def split_inputs(folder, phase, count, deploy):
    """(inputs, record): up to `count` samples of <folder>/<phase>_data.npy as model inputs."""
    from deploy.batches import to_model_inputs
    path = folder / f'{phase}_data.npy'
    data = np.load(path, mmap_mode='r')
    indices = spread_indices(len(data), count)
    inputs = np.concatenate([to_model_inputs(data[indices[i:i + BATCH]], deploy)
                             for i in range(0, len(indices), BATCH)])
    return inputs, {'file': str(path), 'samples': int(len(indices))}


def calibration_sets(cfg, deploy, count):
    """The calibration inputs (training data), the held-out ones (eval data, when generated)
    and what the .yml records of them."""
    folder = generated_data_folder(dataset_args_of(cfg), cfg['dataset'])
    if not (folder / 'train_data.npy').is_file():
        raise UserError(f'--quantize calibrates on the config\'s training data, and '
                        f'{folder / "train_data.npy"} does not exist: generate it with '
                        f'`python main.py -c {cfg["config"]} -gd`')
    calibration, record = split_inputs(folder, 'train', count, deploy)
    held_out, held_record = np.zeros((0,) + calibration.shape[1:], np.float32), None
    if (folder / 'eval_data.npy').is_file():
        held_out, held_record = split_inputs(folder, 'eval', count, deploy)
    else:
        logger.info('No eval data in %s: the check uses the calibration samples only', folder)
    return calibration, held_out, {'calibration': record, 'held_out': held_record}


# ---------------------------------------------------------------- the check
def logits_of(runner, inputs):
    return np.concatenate([runner(inputs[i:i + BATCH]) for i in range(0, len(inputs), BATCH)])


def agreement(reference, quantised):
    """(share of samples whose top-1 is the same, largest absolute logit difference)."""
    if len(reference) == 0:
        return None, None
    same = float(np.mean(reference.argmax(1) == quantised.argmax(1)))
    return same, float(np.abs(reference - quantised).max())


def check(float_runner, quantised_runner, calibration, held_out, min_agreement):
    """The export check's record: top-1 agreement on each set, the largest logit difference
    over both, and whether the quantised model is accepted."""
    record = {}
    differences = []
    for name, inputs in (('calibration', calibration), ('held_out', held_out)):
        same, difference = agreement(logits_of(float_runner, inputs),
                                     logits_of(quantised_runner, inputs))
        record[f'top1_agreement_{name}'] = same
        if difference is not None:
            differences.append(difference)
    shares = [v for k, v in record.items() if v is not None]
    record['max_logit_difference'] = max(differences)
    record['min_agreement'] = min_agreement
    record['accepted'] = bool(min(shares) >= min_agreement)
    return record


def describe_check(record):
    held = record['top1_agreement_held_out']
    return (f'top-1 agreement with float32 {record["top1_agreement_calibration"]:.1%} on the '
            f'calibration samples, {"-" if held is None else f"{held:.1%}"} on held-out ones; '
            f'largest logit difference {record["max_logit_difference"]:.3g}')


# ---------------------------------------------------------------- the forms
def runner_for(model_file, precision='fp32', batch_size=BATCH):
    """infer.py's runner for a model file, as its default options make it."""
    from deploy.runtimes import configure_threads, make_runner
    from deploy.model_config import params_path, read_deploy_config
    from deploy.options import RuntimeOptions
    deploy = read_deploy_config(model_file)
    return make_runner(model_file, params_path(model_file, None, deploy),
                       RuntimeOptions(batch_size=batch_size), configure_threads(None),
                       deploy['input_shape'], model_precision=precision)


class Batches:
    """onnxruntime.quantization's CalibrationDataReader over the calibration inputs."""

    def __init__(self, inputs):
        self.batches = iter([inputs[i:i + BATCH] for i in range(0, len(inputs), BATCH)])

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {'data': batch}


def graph_conv_nodes(model):
    """The nodes of the graph convolutions in the plain .onnx: each joint aggregation (a MatMul
    by the (K, V, V) adjacency) and the 1x1 conv that mixes its K hops (through a Reshape).
    They stay float32: the hop maps have ranges far apart, and one int8 scale for all of them
    moved B0's logits by 1.4-3.6 each (every other conv by 0.04-0.2, and no top-1)."""
    producers = {output: node for node in model.graph.node for output in node.output}
    aggregations = {node.name for node in model.graph.node if node.op_type == 'MatMul'}
    kept = set(aggregations)
    for node in model.graph.node:
        source = producers.get(node.input[0]) if node.op_type == 'Conv' else None
        while source is not None and source.op_type in ('Reshape', 'Transpose'):
            source = producers.get(source.input[0])
        if source is not None and source.name in aggregations:
            kept.add(node.name)
    return sorted(kept)


def write_int8(stem, calibration, settings):
    """<stem>_int8.onnx from <stem>.onnx; returns (model file, float32 model file, the .yml's
    record of the convs that stay float32)."""
    import tempfile

    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from deploy.runtimes import configure_threads
    source = stem.with_suffix('.onnx')
    if not source.is_file():
        raise UserError(f'--quantize int8 quantises the .onnx model, and {source} was not '
                        f'written (pip install paddle2onnx onnxruntime, then export again)')
    target = stem.with_name(f'{stem.name}_int8.onnx')
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / 'prepared.onnx'
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        candidates = int8_candidates(onnx.load(str(prepared)))
        quantise = int8_writer(prepared, calibration, folder)
        threads = configure_threads(None)   # as infer.py's runner (runner_for) has them
        reference = logits_of(onnx_session(prepared, threads), calibration)
        kept, record = sensitivity.scan(
            candidates,
            lambda nodes: logits_of(onnx_session(quantise(nodes), threads), calibration),
            reference, settings['max_logit_change'])
        shutil.copyfile(quantise([name for name in candidates if name not in kept]), target)
    return target, source, {'sensitivity_scan': record}


def int8_candidates(model):
    """The convs worth int8: those with at least MIN_SHARE of the model's conv multiply-adds
    (the attention's convs on pooled maps and the depthwise temporal convs have too few
    products to gain from it, and would only add Q/DQ passes), less the graph convolutions and
    the classifier."""
    fixed = set(graph_conv_nodes(model)) | {sensitivity.classifier_conv(model)}
    return [name for name, share in sensitivity.conv_shares(model).items()
            if share is not None and share >= MIN_SHARE and name not in fixed]


def int8_writer(prepared, calibration, folder):
    """quantise(nodes): the prepared model with those convs in int8 (QDQ), as a file in
    `folder`; one calibration serves every call where onnxruntime can cache it."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    cache = sensitivity.cached_calibration(quantize_static, folder)
    target = Path(folder) / 'int8.onnx'

    def quantise(nodes):
        # uint8 activations and int8 weights: the form ONNX Runtime's CPU provider fuses into
        # QLinearConv on x86 (with int8 activations the convs run in float32 between Q/DQ);
        # reduce_range: 7-bit weights, which CPUs without VNNI multiply without overflow
        quantize_static(str(prepared), str(target), Batches(calibration),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=QUANTIZED_OPS, nodes_to_quantize=list(nodes),
                        **cache)
        return target
    return quantise


def write_bf16(stem, calibration, settings):
    """<stem>_bf16.json: the float32 program, run by Paddle Inference in bfloat16."""
    source = saved_model_file(stem)
    target = stem.with_name(f'{stem.name}_bf16{source.suffix}')
    shutil.copyfile(source, target)
    return target, source, {}


WRITERS = {'int8': write_int8, 'bf16': write_bf16}
RUNTIMES = {'int8': 'ONNX Runtime', 'bf16': 'Paddle Inference'}


# ---------------------------------------------------------------- the export
def write_config(path, config):
    with open(path, 'w') as f:
        yaml.safe_dump(config, f, sort_keys=False)


def quantize_export(cfg, precisions, checkpoint_path):
    """-ex --quantize: each of `precisions` beside the float32 export of checkpoint_path, with
    its .yml and its entry in the float32 .yml; returns precision -> the check's record."""
    from deploy.model_config import read_deploy_config
    settings = quantization_settings(cfg)
    stem = Path(checkpoint_path).with_suffix('')
    float_model = saved_model_file(stem)
    deploy = read_deploy_config(float_model)
    calibration, held_out, sets = calibration_sets(cfg, deploy, settings['calibration_samples'])
    records = {}
    for precision in dict.fromkeys(precisions):
        target, reference, made = WRITERS[precision](stem, calibration, settings)
        config = {**deploy, 'model_file': target.name, 'precision': precision,
                  'runtime': RUNTIMES[precision], 'float_model': float_model.name, **sets,
                  **made}
        write_config(target.with_suffix('.yml'), config)
        record = check(runner_for(reference), runner_for(target, precision), calibration,
                       held_out, settings['min_agreement'])
        if precision == 'bf16' and bf16_note():
            record['note'] = bf16_note()
        write_config(target.with_suffix('.yml'), {**config, 'check': record})
        record_in_float_config(float_model, precision, target, record)
        report(target, precision, record)
        records[precision] = record
    return records


def report(target, precision, record):
    note = record.get('note')
    logger.info('Exported %s (%s, %s): %s%s', target, precision, RUNTIMES[precision],
                describe_check(record), f' ({note})' if note else '')
    if not record['accepted']:
        logger.warning('%s keeps less than %.0f%% of float32\'s top-1: not accepted, float32 '
                       'stays the default (%s)', target.name, 100 * record['min_agreement'],
                       describe_check(record))


def record_in_float_config(float_model, precision, target, record):
    """The float32 .yml lists its quantised forms: infer.py's --precision reads it."""
    path = float_model.with_suffix('.yml')
    with open(path) as f:
        config = yaml.safe_load(f)
    quantized = config.get('quantized') or {}
    quantized[precision] = {'model_file': target.name, 'runtime': RUNTIMES[precision],
                            'accepted': record['accepted']}
    write_config(path, {**config, 'quantized': quantized})
