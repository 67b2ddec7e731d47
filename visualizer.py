"""-v: pictures and tables that show how a checkpoint does on the eval split and where it looks.

    python main.py -c 2001 -v -pp CKPT [-vs 0 5] [-vc 12] [-vf 0 40 80]

Writes into the run folder (matplotlib Agg canvases only: no window, no prompt):
- confusion_matrix.png     row-normalised (each true class sums to 100%); rows without eval samples
                           are grey; figure and fonts grow with the number of classes (60 or 120).
- per_class_accuracy.png   horizontal bars, worst class at the top (classes with eval samples only).
- per_class_accuracy.csv   one row per class, worst first; classes without eval samples come last
                           with an empty accuracy.
- misclassified.csv        every wrong top-1 prediction, most confident mistakes first.
- cam_<sample name>.png    per -vs sample: the skeleton (raw xyz, x/y projection) at the -vf frames,
                           joints coloured by the class activation map of the -vc class.

Class numbers in the CSVs and in -vc are 1-based, i.e. the NTU action number (A001 -> 1);
-vc 0 (the default) means each sample's true class. -vs takes 0-based eval sample indices
(the order of eval_label.pkl); -vf takes 0-based frame indices below num_frame (default: 8 frames
evenly spaced over the sample's frames).

Class activation map (CAM). The classifier is `fc(mean over T', V, M of feature)` with fc a 1x1x1
convolution, i.e. linear, so the logit of class k splits exactly into per-position contributions:
    CAM_k[t', v, m] = sum_c w[k, c] * feature[c, t', v, m]
    logit_k         = mean over (t', v, m) of CAM_k + bias[k]
The bias is left out of the map (it is the same everywhere and would only shift the colours).
Positive values are evidence for class k, negative against; colours are centred on 0.
Feature time t' covers the input frames around t' * stride, stride = product of the block strides
(4 for every official config), so frame f is drawn with CAM[round(f / stride)].

Eval scores. Scoring the whole eval split is the slow part, so a run writes eval_scores.key.json
beside its eval_scores.pkl: the checkpoint's SHA-256, the eval data files (path, size, mtime), and
the config entries that change the scores. A later -v with an identical key reuses the newest such
eval_scores.pkl under work_dir instead of evaluating again (the log says which). Scores without a
key (from -e or training) are never reused, as nothing proves which checkpoint made them.
Delete eval_scores.key.json to force a new evaluation.
"""
import csv
import logging
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from utils import metrics
from dataset import class_names, input_format
from utils.errors import UserError
from utils.files import atomic_save

logger = logging.getLogger(__name__)

DEFAULT_NUM_FRAMES = 8
NAME_WIDTH = 30   # class names longer than this are cut in picture labels


class Options:
    """The -v options, checked against the eval split before anything is computed."""

    def __init__(self, cfg, num_class, loader):
        self.loader, self.feeder = loader, loader.dataset
        self.cam_class = _checked_class(cfg.get('visualization_class'), num_class)
        self.samples = _checked_samples(cfg.get('visualization_sample'), len(self.feeder))
        self.frames = _checked_frames(cfg.get('visualization_frames'), self.feeder.num_frame)


def draw(run_dir, cfg, options, results, scores, net, graph):
    """Write the pictures and tables into run_dir: results and scores are the evaluation's
    (metrics.summarize; sample name -> logits), net the eval-mode model for the CAMs."""
    feeder, num_class = options.feeder, results['confusion_matrix'].shape[0]
    names = feeder.names
    logits = np.stack([scores[n] for n in names]).astype(np.float64)
    labels = np.asarray(feeder.labels)
    labels_text = class_names(cfg['dataset'], cfg['dataset_args'], num_class)
    written = [
        write_confusion_matrix(run_dir / 'confusion_matrix.png', results, labels_text),
        write_per_class_accuracy_png(run_dir / 'per_class_accuracy.png', results, labels_text),
        write_per_class_accuracy_csv(run_dir / 'per_class_accuracy.csv', results, labels_text),
        write_misclassified_csv(run_dir / 'misclassified.csv', names, labels, logits, labels_text),
    ]
    stride = temporal_stride(cfg['model_args']['block_args'])
    # 2D poses are in image coordinates, whose y axis points down
    y_down = input_format(cfg['dataset'], cfg['dataset_args'])['keypoint_dim'] == 2
    weight, bias = classifier_weights(net)
    for index in options.samples:
        sample = SampleCam(net, feeder, index, weight, bias)
        k = sample.label if options.cam_class is None else options.cam_class
        frames = options.frames or default_frames(feeder.lengths[index], feeder.num_frame)
        written.append(write_cam(run_dir / f'cam_{sample.name}.png', sample, k, frames,
                                 stride, graph.edge, labels_text, y_down))
    for path in written:
        logger.info('Wrote %s', path)
    logger.info('Visualisation of %s: %d files in %s', cfg['pretrained_path'], len(written),
                run_dir)
    return written


# ---------------------------------------------------------------- options
def _checked_class(value, num_class):
    """-vc (1-based, 0 = true class) -> 0-based class index or None."""
    value = value or 0
    if not 0 <= value <= num_class:
        raise UserError(f'-vc {value} is not a class of this dataset: give 1..{num_class} '
                        '(the NTU action number) or 0 for the true class')
    return value - 1 if value else None


def _as_list(values, default):
    """A config may hold one number where the command line gives a list."""
    if values is None:
        return list(default)
    return [values] if isinstance(values, int) else list(values)


def _checked_samples(values, num_samples):
    samples = list(dict.fromkeys(_as_list(values, [0])))   # unique, in the order given
    bad = [i for i in samples if not 0 <= i < num_samples]
    if bad:
        raise UserError(f'-vs {bad[0]} is not an eval sample index: the eval split has '
                        f'{num_samples} samples (0..{num_samples - 1})')
    return samples


def _checked_frames(values, num_frame):
    frames = sorted(set(_as_list(values, [])))
    bad = [f for f in frames if not 0 <= f < num_frame]
    if bad:
        raise UserError(f'-vf {bad[0]} is not a frame the model sees: give 0..{num_frame - 1} '
                        '(num_frame of the config)')
    return frames


def frames_seen(length, num_frame):
    """How many of a sample's frames the model sees (at least 1; all when the length is
    unknown)."""
    return max(min(int(length or num_frame), num_frame), 1)


def default_frames(length, num_frame, count=DEFAULT_NUM_FRAMES):
    """`count` frames evenly spaced over the frames the model sees that hold the skeleton."""
    last = frames_seen(length, num_frame) - 1
    return sorted(set(np.linspace(0, last, count).round().astype(int).tolist()))


# ---------------------------------------------------------------- class activation maps
def classifier_weights(net):
    """(num_class, C') weight and (num_class,) bias of the 1x1x1 Conv3D classifier."""
    fc = net.classifier.fc
    weight = fc.weight.numpy()
    bias = fc.bias.numpy() if fc.bias is not None else np.zeros(weight.shape[0], weight.dtype)
    return weight.reshape(weight.shape[0], -1), bias


def class_activation_map(feature, weight, class_index):
    """(C', T', V, M) feature -> (T', V, M) CAM of one class; its mean + bias is the logit."""
    return np.einsum('c,ctvm->tvm', weight[class_index].astype(np.float64),
                     feature.astype(np.float64))


def temporal_stride(block_args):
    """Frames per feature step: the product of the block strides (depth never scales to 0)."""
    return math.prod(stride for _, stride, _ in block_args)


def feature_steps(frames, stride, num_steps):
    """Feature time index whose receptive field is centred nearest to each input frame."""
    return np.clip(np.round(np.asarray(frames) / stride).astype(int), 0, num_steps - 1)


class SampleCam:
    """One eval sample through the model: logits, feature map, raw skeleton, CAM per class."""

    def __init__(self, net, feeder, index, weight, bias):
        import paddle
        inputs, label, name = feeder[index]
        net.eval()
        with paddle.no_grad():
            logits, feature = net(paddle.to_tensor(inputs[None]))
        self.index, self.label, self.name = index, int(label), name
        self.logits = logits.numpy()[0].astype(np.float64)
        self.feature = feature.numpy()[0]
        self.skeleton = np.asarray(feeder.data[index])   # raw (3, frames, V, M) xyz
        self.length = frames_seen(feeder.lengths[index], feeder.num_frame)
        self.weight, self.bias = weight, bias

    def cam(self, class_index):
        return class_activation_map(self.feature, self.weight, class_index)

    def probabilities(self):
        return metrics.softmax(self.logits[None])[0]


# ---------------------------------------------------------------- pictures
def _short(name, width=NAME_WIDTH):
    return name if len(name) <= width else name[:width - 1] + '…'


def _class_label(index, names, width=NAME_WIDTH):
    return f'{index + 1} {_short(names[index], width)}'


def _save(fig, path):
    """PNG through a temporary file, so an interrupted run never leaves a half picture."""
    FigureCanvasAgg(fig)
    atomic_save(fig, path, lambda figure, p: figure.savefig(p, format='png', dpi=110))
    return path


def row_normalised(confusion):
    """Each row divided by its total; NaN for classes without eval samples."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.full_like(confusion, np.nan), where=totals > 0)


def write_confusion_matrix(path, results, names):
    normalised = row_normalised(results['confusion_matrix'])
    n = len(names)
    cell = 0.2 if n <= 60 else 0.15                    # inches per class
    font = 7 if n <= 60 else 5.5
    side = n * cell
    fig = Figure(figsize=(side + 3.8, side + 3.2), layout='constrained')   # room for the names
    ax = fig.subplots()
    cmap = colormaps['Blues'].with_extremes(bad='0.85')
    image = ax.imshow(np.ma.masked_invalid(normalised), cmap=cmap, vmin=0, vmax=1,
                      interpolation='nearest')
    ticks = np.arange(n)
    tick_labels = [_class_label(i, names) for i in range(n)]
    ax.set_xticks(ticks, tick_labels, rotation=90, fontsize=font)
    ax.set_yticks(ticks, tick_labels, fontsize=font)
    ax.set_xlabel('predicted class', fontsize=font + 3)
    ax.set_ylabel('true class', fontsize=font + 3)
    ax.set_title(f'Confusion matrix (row-normalised), top-1 {100 * results["top1"]:.2f}% '
                 f'on {results["num_samples"]} samples; grey: no eval sample',
                 fontsize=font + 5)
    _annotate_cells(ax, normalised, font - 1.5)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    colorbar.ax.tick_params(labelsize=font + 1)
    return _save(fig, path)


def _annotate_cells(ax, normalised, font):
    """Percent in every non-zero cell; white on dark cells."""
    rows, cols = np.nonzero(np.nan_to_num(normalised) > 0)
    for r, c in zip(rows, cols):
        value = normalised[r, c]
        ax.text(c, r, f'{100 * value:.0f}', ha='center', va='center', fontsize=font,
                color='white' if value > 0.5 else 'black')


def per_class_table(results, names):
    """Rows (class 1-based, name, samples, correct, accuracy or None), worst first, empty last."""
    confusion = np.asarray(results['confusion_matrix'])
    totals, correct = confusion.sum(axis=1), np.diag(confusion)
    accuracy = np.divide(correct, totals, out=np.full(len(names), np.nan), where=totals > 0)
    order = np.argsort(np.where(np.isnan(accuracy), np.inf, accuracy), kind='stable')
    return [(int(k) + 1, names[k], int(totals[k]), int(correct[k]),
             None if np.isnan(accuracy[k]) else float(accuracy[k])) for k in order]


def write_per_class_accuracy_csv(path, results, names):
    rows = [(k, name, total, correct, '' if acc is None else f'{acc:.6f}')
            for k, name, total, correct, acc in per_class_table(results, names)]
    return _write_csv(path, ['class', 'name', 'samples', 'correct', 'accuracy'], rows)


def write_per_class_accuracy_png(path, results, names):
    rows = [row for row in per_class_table(results, names) if row[4] is not None]
    n = max(len(rows), 1)
    font = 7 if len(names) <= 60 else 6
    fig = Figure(figsize=(10, 0.16 * n + 1.2), layout='constrained')
    ax = fig.subplots()
    accuracy = np.array([row[4] for row in rows]) * 100
    y = np.arange(len(rows))
    ax.barh(y, accuracy, color=colormaps['RdYlGn'](accuracy / 100), edgecolor='0.4', linewidth=0.3)
    ax.set_yticks(y, [_class_label(row[0] - 1, names) for row in rows], fontsize=font)
    ax.invert_yaxis()   # worst class at the top
    for yi, (row, acc) in enumerate(zip(rows, accuracy)):
        ax.text(acc + 0.5, yi, f'{acc:.1f}% ({row[3]}/{row[2]})', va='center', fontsize=font - 1)
    ax.axvline(100 * results['top1'], color='0.3', linestyle='--', linewidth=0.8)
    ax.set_xlim(0, 115)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel('accuracy (%)')
    ax.set_title(f'Per-class top-1 accuracy, worst first (dashed line: overall '
                 f'{100 * results["top1"]:.2f}% on {results["num_samples"]} samples)', fontsize=10)
    return _save(fig, path)


def write_misclassified_csv(path, names, labels, logits, class_text):
    """Wrong top-1 predictions, most confident first; probabilities from the softmax of logits."""
    probabilities = metrics.softmax(logits)
    predicted = probabilities.argmax(axis=1)
    wrong = np.nonzero(predicted != labels)[0]
    confidence = probabilities[wrong, predicted[wrong]]
    rows = []
    for i in wrong[np.argsort(-confidence, kind='stable')]:
        t, p = int(labels[i]), int(predicted[i])
        rows.append((int(i), names[i], t + 1, class_text[t], p + 1, class_text[p],
                     f'{probabilities[i, p]:.6f}', f'{probabilities[i, t]:.6f}'))
    header = ['index', 'sample', 'true_class', 'true_name', 'predicted_class', 'predicted_name',
              'probability', 'true_class_probability']
    return _write_csv(path, header, rows)


def _write_csv(path, header, rows):
    def save(table, p):
        with open(p, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(table)
    atomic_save(rows, path, save)
    return path


def _body_present(skeleton, frame, body):
    return bool(np.any(skeleton[:, frame, :, body] != 0))


def _xy_limits(skeleton, frames):
    """One x/y box for all panels (from the drawn, present bodies) so motion stays visible."""
    xy = skeleton[:2, frames]                                    # (2, F, V, M)
    present = np.any(skeleton[:, frames] != 0, axis=(0, 2))      # (F, M)
    points = xy.transpose(0, 1, 3, 2)[:, present].reshape(2, -1)
    if points.size == 0:
        return (-1, 1), (-1, 1)
    low, high = points.min(axis=1), points.max(axis=1)
    margin = 0.08 * max(float((high - low).max()), 1e-3)
    return (low[0] - margin, high[0] + margin), (low[1] - margin, high[1] + margin)


def _cam_norm(cam, sample, stride):
    """Colour scale centred on 0 (red: for the class, blue: against), from the feature steps of
    the sample's own frames and bodies: zero-padded frames and an absent body do not set it."""
    last_step = feature_steps([sample.length - 1], stride, cam.shape[0])[0]
    present = np.any(sample.skeleton != 0, axis=(0, 1, 2))        # (M,)
    values = cam[:last_step + 1][..., present] if present.any() else cam
    scale = float(np.abs(values).max()) or 1.0
    return Normalize(-scale, scale)


def write_cam(path, sample, class_index, frames, stride, edges, names, y_down=False):
    cam = sample.cam(class_index)                                 # (T', V, M)
    steps = feature_steps(frames, stride, cam.shape[0])
    norm, cmap = _cam_norm(cam, sample, stride), colormaps['coolwarm']
    cols = min(len(frames), 4)
    rows = math.ceil(len(frames) / cols)
    fig = Figure(figsize=(3.2 * cols + 1.2, 3.4 * rows + 1.3), layout='constrained')
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    xlim, ylim = _xy_limits(sample.skeleton, frames)
    ylim = ylim[::-1] if y_down else ylim
    for ax, frame, step in zip(axes, frames, steps):
        drawn = _draw_frame(ax, sample.skeleton, frame, cam[step], edges, norm, cmap)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_title(f'frame {frame} (feature step {step})' + ('' if drawn else ': no skeleton'),
                     fontsize=9)
    for ax in axes[len(frames):]:
        ax.set_visible(False)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), fraction=0.025, pad=0.02,
                 label='contribution to the class logit')
    fig.suptitle(_cam_title(sample, class_index, names), fontsize=10)
    return _save(fig, path)


def _draw_frame(ax, skeleton, frame, cam_step, edges, norm, cmap):
    """Bones in grey, joints coloured (and sized) by their CAM value; absent bodies skipped.
    Returns how many bodies were drawn."""
    edges = np.asarray(edges)
    bodies = [m for m in range(skeleton.shape[-1]) if _body_present(skeleton, frame, m)]
    for body in bodies:
        x, y = skeleton[0, frame, :, body], skeleton[1, frame, :, body]
        ax.plot(np.stack([x[edges[:, 0]], x[edges[:, 1]]]),
                np.stack([y[edges[:, 0]], y[edges[:, 1]]]), color='0.55', linewidth=1.5, zorder=1)
        values = cam_step[:, body]
        sizes = 18 + 70 * np.clip(values / norm.vmax, 0, 1)   # bigger where it speaks for
        ax.scatter(x, y, c=values, cmap=cmap, norm=norm, s=sizes, edgecolors='0.2',
                   linewidths=0.4, zorder=2)
    ax.set_aspect('equal', adjustable='box')
    ax.set_xticks([])
    ax.set_yticks([])
    return len(bodies)


def _cam_title(sample, class_index, names):
    probabilities = sample.probabilities()
    predicted = int(probabilities.argmax())
    def label(k):
        return _class_label(k, names, width=80)   # titles have room for full names

    return (f'{sample.name} (eval sample {sample.index}): true {label(sample.label)}, '
            f'predicted {label(predicted)} ({100 * probabilities[predicted]:.1f}%)\n'
            f'CAM of class {label(class_index)}: mean {sample.cam(class_index).mean():.3f} '
            f'+ bias {sample.bias[class_index]:.3f} = logit {sample.logits[class_index]:.3f}')
