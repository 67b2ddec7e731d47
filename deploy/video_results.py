"""The results of --video: per window its time span, people seen and top-k on stdout, a summary
line per video, and the video's entry of the --output JSON. Times and frame numbers are the
video's own (its time stamps), whatever rate the model reads it at."""
import numpy as np

from utils import metrics

from .results import TOP_K, top_k

MAX_BODIES = 2


def window_entry(window, logits, deploy, delay=None):
    """One window's dict: the video's frames and seconds it spans, the people in it, top-5 and
    logits (and, live, the delay from its last frame's arrival to its result)."""
    poses = window.poses
    probs = metrics.softmax(np.asarray(logits, np.float64)[None])[0]
    class_names = deploy['class_names']
    entry = {'start_frame': int(poses.frame_index[0]), 'end_frame': int(poses.frame_index[-1]) + 1,
             'start_s': round(float(poses.times[0]), 3),
             'end_s': round(float(poses.times[-1] + 1 / deploy['frame_rate']), 3),
             'people': window.people,
             'top5': [[int(c), class_names[c], float(probs[c])] for c in top_k(probs[None],
                                                                                 TOP_K)[0]],
             'logits': [float(v) for v in logits]}
    if delay is not None:
        entry['delay_s'] = round(float(delay), 3)
    return entry


def summary(windows, class_names):
    """The video's action: the class of highest mean probability over its windows, and in how
    many windows it is the top-1."""
    logits = np.array([w['logits'] for w in windows], np.float64)
    probs = metrics.softmax(logits)
    best = int(probs.mean(axis=0).argmax())
    return {'pred': best, 'class': class_names[best],
            'mean_prob': float(probs[:, best].mean()),
            'top1_windows': int((probs.argmax(axis=1) == best).sum()), 'windows': len(windows)}


def clip_entry(poses, windows, deploy, live=None):
    """The --output JSON entry of one video."""
    seen = poses.num_people
    entry = {'path': str(poses.path), 'fps': float(poses.fps),
             'frame_rate': float(deploy['frame_rate']), 'frames': poses.video_frames,
             'frames_posed': poses.num_frames, 'frames_with_person': int(poses.anyone.sum()),
             'people_seen': seen,
             'people_kept': people_note(seen), 'windows': windows,
             'summary': summary(windows, deploy['class_names'])}
    if live:
        delays = [w['delay_s'] for w in windows if 'delay_s' in w]
        entry['live'] = dict(live, max_delay_s=max(delays, default=0.0),
                             mean_delay_s=round(float(np.mean(delays)), 3) if delays else 0.0)
    return entry


def people_note(seen):
    if seen <= MAX_BODIES:
        return f'{seen} {"person" if seen == 1 else "people"} tracked'
    return (f'{seen} people seen, the {MAX_BODIES} most prominent in each window kept (largest '
            'and most moving)')


def print_window(window, name, k):
    ranked = ', '.join(f'{label} {prob:.2f}' for _, label, prob in window['top5'][:k])
    delay = f'  (delay {window["delay_s"]:.2f} s)' if 'delay_s' in window else ''
    people = f'{window["people"]} {"person" if window["people"] == 1 else "people"}'
    print(f'{name}  {window["start_s"]:7.2f}-{window["end_s"]:7.2f} s  '
          f'(frames {window["start_frame"]}-{window["end_frame"] - 1}, {people})  '
          f'{ranked}{delay}', flush=True)


def print_summary(entry, name):
    result = entry['summary']
    posed = '' if entry['frames_posed'] == entry['frames'] else (
        f' (poses on the {entry["frames_posed"]} the model\'s {entry["frame_rate"]:g} frames/s '
        'take)')
    line = (f'{name}: {result["class"]} (class {result["pred"]}, mean prob '
            f'{result["mean_prob"]:.2f}, top-1 in {result["top1_windows"]} of '
            f'{result["windows"]} windows); {entry["frames"]} frames{posed}, a person in '
            f'{entry["frames_with_person"]}, {entry["people_kept"]}')
    live = entry.get('live')
    if live:
        not_needed = live.get('frames_not_needed')
        arrived = f'{live["frames_arrived"]} frames arrived' + (
            f' ({not_needed} not needed at the model\'s rate)' if not_needed else '')
        line += (f'; live: {arrived}, {live["frames_skipped"]} '
                 f'skipped, {live["windows_skipped"]} windows skipped, delay '
                 f'{live["mean_delay_s"]:.2f} s mean, {live["max_delay_s"]:.2f} s max; '
                 f'{live["ended"]}')
    print(line, flush=True)
