"""The results of a deployment run: one line per sample on stdout, the accuracy where labels
are known, and the JSON file of --output."""
import numpy as np

from utils import metrics
from utils.files import save_json

TOP_K = 5


def top_k(probs, k):
    return np.argsort(-probs, axis=1, kind='stable')[:, :k]


def print_predictions(names, logits, labels, class_names):
    probs = metrics.softmax(logits.astype(np.float64))
    preds = probs.argmax(axis=1)
    width = max(len(name) for name in names)
    for name, pred, prob, label in zip(names, preds, probs, labels):
        line = f'{name:<{width}}  pred {pred:3d} {class_names[pred]:<40}  prob {prob[pred]:.4f}'
        if label is not None:
            line += f'  true {label:3d} ' + ('ok' if label == pred else
                                             f'WRONG ({class_names[label]})')
        print(line)


def print_accuracy(logits, labels):
    known = [i for i, label in enumerate(labels) if label is not None]
    if not known:
        return
    scores = metrics.summarize(logits[known], [labels[i] for i in known], logits.shape[1])
    top1, top5, n = scores['top1_count'], scores['top5_count'], scores['num_samples']
    print(f'Top-1 accuracy: {top1}/{n} ({100 * top1 / n:.2f}%), '
          f'Top-5 accuracy: {top5}/{n} ({100 * top5 / n:.2f}%)')


def results_json(names, logits, class_names):
    probs = metrics.softmax(logits.astype(np.float64))
    top = top_k(probs, TOP_K)
    return {name: {'pred': int(row[0]),
                   'top5': [[int(c), class_names[c], float(p[c])] for c in row],
                   'logits': [float(v) for v in z]}
            for name, z, p, row in zip(names, logits, probs, top)}


def report(names, logits, labels, class_names, output=None):
    print_predictions(names, logits, labels, class_names)
    print_accuracy(logits, labels)
    if output:
        save_json(results_json(names, logits, class_names), output)
        print(f'Wrote {output}')
