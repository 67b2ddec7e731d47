"""Samples into the model's input batches: the J/V/B inputs built as the feeder builds them."""
import numpy as np

from dataset.inputs import build_inputs


def to_model_inputs(samples, deploy):
    """(N, C, T, V, M) samples -> (N, I, 6, num_frame, V, M) float32, cut as the feeder does."""
    num_frame = deploy['num_frame']
    return np.stack([build_inputs(np.asarray(sample[:, :num_frame]), deploy['inputs'],
                                  deploy['connect_joint'], deploy['center'],
                                  deploy['keypoint_dim'])
                     for sample in samples])


def batched(samples, deploy, batch_size):
    """(names, inputs, labels) batches of (name, sample, label) triples."""
    names, data, labels = [], [], []
    for name, sample, label in samples:
        names.append(name)
        data.append(sample)
        labels.append(label)
        if len(names) == batch_size:
            yield names, to_model_inputs(data, deploy), labels
            names, data, labels = [], [], []
    if names:
        yield names, to_model_inputs(data, deploy), labels
