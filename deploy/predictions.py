"""What deploy.Recognizer returns: one Prediction per sample (the true label when known, the
logits, the top-k as class index, name and probability), one VideoPrediction per video (its
windows, each a Prediction with its time span, and the video's summary)."""
from dataclasses import dataclass

import numpy as np

from utils import metrics

from .results import TOP_K, top_k


@dataclass
class Prediction:
    """name; logits (num_class,) float32; top_k: (class index, class name, probability) best
    first; label: the true 0-based class where the input names it, else None."""
    name: str
    logits: np.ndarray
    top_k: list
    label: int = None

    @property
    def class_index(self):
        return self.top_k[0][0]

    @property
    def class_name(self):
        return self.top_k[0][1]

    @property
    def probability(self):
        return self.top_k[0][2]

    def to_dict(self):
        """The entry of infer.py's --output JSON."""
        return {'pred': self.class_index, 'top5': [list(entry) for entry in self.top_k],
                'logits': [float(v) for v in self.logits]}


@dataclass
class WindowPrediction(Prediction):
    """A window [start_frame, end_frame) of a video, its time span in seconds and the number of
    people in it (the model's bodies: at most two)."""
    start_frame: int = 0
    end_frame: int = 0
    start_s: float = 0.0
    end_s: float = 0.0
    people: int = 0


class Predictions(list):
    """The Predictions of the inputs that could be read, in order; `skipped` names those that
    could not (each reported on stderr as an `error:` line)."""

    def __init__(self, predictions=(), skipped=()):
        super().__init__(predictions)
        self.skipped = list(skipped)

    @property
    def names(self):
        return [p.name for p in self]

    @property
    def labels(self):
        return [p.label for p in self]

    @property
    def logits(self):
        """(N, num_class) float32."""
        return np.stack([p.logits for p in self]) if self else np.zeros((0, 0), np.float32)


@dataclass
class VideoPrediction:
    """A video's windows (WindowPrediction) and its action (the class of highest mean
    probability over the windows); `entry` is its --output JSON entry (video_results.py: frame
    rate, people seen, per window the people in it, live delays)."""
    name: str
    windows: list
    entry: dict

    @property
    def class_index(self):
        return self.entry['summary']['pred']

    @property
    def class_name(self):
        return self.entry['summary']['class']

    @property
    def mean_probability(self):
        return self.entry['summary']['mean_prob']


def ranked(logits, class_names, k=TOP_K):
    """Per row of (N, num_class) logits its top-k (class index, class name, probability)."""
    probs = metrics.softmax(np.asarray(logits, np.float64))
    return [[(int(c), class_names[c], float(p[c])) for c in row]
            for p, row in zip(probs, top_k(probs, k))]


def predictions(names, logits, labels, class_names, skipped=()):
    return Predictions([Prediction(name, np.asarray(z, np.float32), top, label)
                        for name, z, top, label in zip(names, logits,
                                                       ranked(logits, class_names), labels)],
                       skipped)


def video_prediction(name, entry):
    """The VideoPrediction of a video's --output entry."""
    windows = [WindowPrediction(f'{name}@{w["start_frame"]}-{w["end_frame"]}',
                                np.asarray(w['logits'], np.float32),
                                [tuple(top) for top in w['top5']], None, w['start_frame'],
                                w['end_frame'], w['start_s'], w['end_s'], w['people'])
               for w in entry['windows']]
    return VideoPrediction(name, windows, entry)
