"""Which convs of the int8 model stay float32: a sensitivity scan on the calibration samples.

Each candidate conv is quantised alone and its sensitivity is the largest change it makes to
float32's logits on the calibration samples. Rounding errors of different layers are roughly
independent, so the quantised model's change is predicted as the root of the sum of squares of
its int8 convs' sensitivities; the most sensitive convs go back to float32, one at a time, until
that prediction is at most `quantization.max_logit_change` times float32's logit spread (the
standard deviation over classes, averaged over the calibration samples). The export's check
then measures the model that results.

Only the calibration samples are used: the held-out samples and any file the model is later
checked on play no part in the choice. The classifier (the conv that writes the logits) is
never a candidate: every error there is a logit error, and deployment data need not stay in
its calibration range (quantised alone it moved X-sub's logits on the real files and clips by
up to 1.5, 5 at 32 frames, where it moved its calibration samples' by 0.15 and 0.23).
"""
import inspect
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def conv_shares(model):
    """conv name -> its share of the model's conv multiply-adds per sample (from the shapes
    ONNX shape inference recorded; a conv of unknown shape gets None)."""
    shapes = {value.name: [dim.dim_value for dim in value.type.tensor_type.shape.dim]
              for value in list(model.graph.value_info) + list(model.graph.output)}
    weights = {tensor.name: list(tensor.dims) for tensor in model.graph.initializer}
    counts = {}
    for node in model.graph.node:
        if node.op_type != 'Conv':
            continue
        weight, output = weights.get(node.input[1]), shapes.get(node.output[0])
        known = weight and output and len(output) > 1 and all(output[1:])
        counts[node.name] = int(np.prod(output[1:]) * np.prod(weight[1:])) if known else None
    total = sum(count for count in counts.values() if count)
    return {name: count / total if count and total else None for name, count in counts.items()}


def classifier_conv(model):
    """The conv that writes the logits: the last one before the graph's output."""
    producers = {output: node for node in model.graph.node for output in node.output}
    pending = [output.name for output in model.graph.output]
    seen = set()
    while pending:
        node = producers.get(pending.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == 'Conv':
            return node.name
        pending.extend(node.input)
    return None


def sensitivities(candidates, quantised_logits, reference):
    """candidate -> largest absolute logit change on the calibration samples when it alone is
    quantised (quantised_logits(nodes) runs the model with those nodes in int8)."""
    return {name: float(np.abs(quantised_logits([name]) - reference).max())
            for name in candidates}


def kept_in_float32(scores, budget):
    """The most sensitive convs, fewest first, whose return to float32 brings the predicted
    change of the rest (root of the sum of squares) to at most `budget`; (kept, predicted)."""
    remaining = sum(score ** 2 for score in scores.values())
    kept = []
    for name in sorted(scores, key=scores.get, reverse=True):
        if remaining ** 0.5 <= budget:
            break
        kept.append(name)
        remaining -= scores[name] ** 2
    return kept, max(remaining, 0.0) ** 0.5


def logit_spread(logits):
    """float32's logit spread: the standard deviation over classes, mean over samples."""
    return float(np.std(logits, axis=1).mean())


def scan(candidates, quantised_logits, reference, max_logit_change):
    """(convs kept in float32, the scan's record for the .yml). max_logit_change None: no
    scan, every candidate in int8."""
    if max_logit_change is None:
        return [], {'max_logit_change': None}
    scores = sensitivities(candidates, quantised_logits, reference)
    spread = logit_spread(reference)
    kept, predicted = kept_in_float32(scores, max_logit_change * spread)
    logger.info('Sensitivity scan of %d convs on the calibration samples: %d stay float32 '
                '(predicted logit change %.3g, budget %.3g = %g x spread %.3g)',
                len(scores), len(kept), predicted, max_logit_change * spread,
                max_logit_change, spread)
    return kept, {'max_logit_change': max_logit_change, 'logit_spread': round(spread, 4),
                  'predicted_logit_change': round(predicted, 4),
                  'float32_convs': {name: round(scores[name], 4) for name in kept},
                  'int8_convs': len(scores) - len(kept)}


def cached_calibration(quantize_static, folder):
    """quantize_static's keyword that makes every model of the scan reuse one calibration (its
    ranges kept in `folder`), or {} in onnxruntime releases without it (each then calibrates
    anew: the same ranges, more time)."""
    if 'calibration_cache_path' not in inspect.signature(quantize_static).parameters:
        return {}
    return {'calibration_cache_path': str(Path(folder) / 'ranges.json')}
