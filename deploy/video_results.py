"""The results of --video: per window its time span and top-k on stdout, a summary line per
video, and the video's entry of the --output JSON."""
import numpy as np

from utils import metrics

from .results import TOP_K, top_k

PERSONS_NOTE = 'one person tracked'


def window_entries(clip, logits, class_names):
    """One dict per window: frames, seconds, top-5 and logits."""
    probs = metrics.softmax(logits.astype(np.float64))
    fps = clip.poses.fps
    return [{'start_frame': start, 'end_frame': end,
             'start_s': round(start / fps, 3), 'end_s': round(end / fps, 3),
             'top5': [[int(c), class_names[c], float(p[c])] for c in row],
             'logits': [float(v) for v in z]}
            for (start, end), z, p, row in zip(clip.windows, logits, probs, top_k(probs, TOP_K))]


def summary(clip, logits, class_names):
    """The video's action: the class of highest mean probability over its windows, and in how
    many windows it is the top-1."""
    probs = metrics.softmax(logits.astype(np.float64))
    best = int(probs.mean(axis=0).argmax())
    return {'pred': best, 'class': class_names[best], 'mean_prob': float(probs[:, best].mean()),
            'top1_windows': int((probs.argmax(axis=1) == best).sum()),
            'windows': len(clip.windows)}


def video_entry(clip, logits, class_names):
    """The --output JSON entry of one video."""
    poses = clip.poses
    return {'path': str(poses.path), 'fps': poses.fps, 'frames': poses.num_frames,
            'frames_with_person': int(poses.found.sum()), 'persons': PERSONS_NOTE,
            'windows': window_entries(clip, logits, class_names),
            'summary': summary(clip, logits, class_names)}


def print_video(entry, name, k):
    """The window lines and the summary line of one video."""
    for window in entry['windows']:
        ranked = ', '.join(f'{label} {prob:.2f}' for _, label, prob in window['top5'][:k])
        print(f'{name}  {window["start_s"]:7.2f}-{window["end_s"]:7.2f} s  '
              f'(frames {window["start_frame"]}-{window["end_frame"] - 1})  {ranked}')
    result = entry['summary']
    print(f'{name}: {result["class"]} (class {result["pred"]}, mean prob '
          f'{result["mean_prob"]:.2f}, top-1 in {result["top1_windows"]} of '
          f'{result["windows"]} windows); {entry["frames"]} frames, a person in '
          f'{entry["frames_with_person"]}, {PERSONS_NOTE}')
