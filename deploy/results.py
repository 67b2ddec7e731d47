"""The results of a deployment run: one line per sample on stdout, the accuracy where labels
are known, and the JSON file of --output."""
import numpy as np

from utils import metrics
from utils.files import save_json

TOP_K = 5


def top_k(probs, k):
    return np.argsort(-probs, axis=1, kind='stable')[:, :k]


def print_predictions(predictions, class_names):
    width = max(len(p.name) for p in predictions)
    for p in predictions:
        line = (f'{p.name:<{width}}  pred {p.class_index:3d} {p.class_name:<40}  '
                f'prob {p.probability:.4f}')
        if p.label is not None:
            line += f'  true {p.label:3d} ' + ('ok' if p.label == p.class_index else
                                               f'WRONG ({class_names[p.label]})')
        print(line)


def print_accuracy(logits, labels):
    known = [i for i, label in enumerate(labels) if label is not None]
    if not known:
        return
    scores = metrics.summarize(logits[known], [labels[i] for i in known], logits.shape[1])
    top1, top5, n = scores['top1_count'], scores['top5_count'], scores['num_samples']
    print(f'Top-1 accuracy: {top1}/{n} ({100 * top1 / n:.2f}%), '
          f'Top-5 accuracy: {top5}/{n} ({100 * top5 / n:.2f}%)')


def report(predictions, class_names, output=None):
    """The lines and accuracy of deploy.predictions.Predictions; with `output`, their JSON."""
    print_predictions(predictions, class_names)
    print_accuracy(predictions.logits, predictions.labels)
    if output:
        save_json({p.name: p.to_dict() for p in predictions}, output)
        print(f'Wrote {output}')
