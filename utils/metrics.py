"""Scores of an evaluation: top-k, mean loss, per-class accuracy and confusion matrix (numpy)."""
import logging

import numpy as np


def log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    return np.exp(log_softmax(logits))


def summarize(logits, labels, num_class):
    """Metrics of (N, num_class) logits against N labels."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    ranked = np.argsort(-logits, axis=1)
    top1 = int((ranked[:, 0] == labels).sum())
    top5 = int((ranked[:, :5] == labels[:, None]).any(axis=1).sum())
    loss = float(-log_softmax(logits)[np.arange(n), labels].mean()) if n else float('nan')
    confusion = np.zeros((num_class, num_class), dtype=np.int64)
    np.add.at(confusion, (labels, ranked[:, 0]), 1)
    per_class = {int(c): float(confusion[c, c] / confusion[c].sum())
                 for c in range(num_class) if confusion[c].sum() > 0}
    return {
        'top1': top1 / n if n else 0.0, 'top5': top5 / n if n else 0.0,
        'top1_count': top1, 'top5_count': top5, 'mean_loss': loss, 'num_samples': n,
        'per_class_accuracy': per_class, 'confusion_matrix': confusion,
    }


def log_scores(results):
    """The accuracy line of an evaluation (summarize's results)."""
    n = results['num_samples']
    logging.getLogger(__name__).info(
        'Top-1 accuracy: %d/%d(%.2f%%), Top-5 accuracy: %d/%d(%.2f%%), Mean loss:%.4f',
        results['top1_count'], n, 100 * results['top1'], results['top5_count'], n,
        100 * results['top5'], results['mean_loss'])
