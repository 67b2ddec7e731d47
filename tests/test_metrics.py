import numpy as np
import pytest

from utils.metrics import summarize


def test_summarize_counts_topk_loss_and_per_class():
    logits = np.array([[3.0, 1, 0, 0, 0, 0], [0, 2, 3, 0, 0, 0], [1, 0, 0, 0, 0, 0.5]])
    labels = [0, 1, 5]
    out = summarize(logits, labels, num_class=6)
    assert out['top1_count'] == 1 and out['top5_count'] == 3 and out['num_samples'] == 3
    expected_loss = -np.mean([np.log(np.exp(l[y]) / np.exp(l).sum()) for l, y in zip(logits, labels)])
    assert out['mean_loss'] == pytest.approx(expected_loss)
    assert out['per_class_accuracy'] == {0: 1.0, 1: 0.0, 5: 0.0}
    assert out['confusion_matrix'][1, 2] == 1 and out['confusion_matrix'].sum() == 3
