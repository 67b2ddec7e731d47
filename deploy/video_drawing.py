"""--save-video: the clip again, with each tracked person's skeleton drawn on every frame (a
colour per person) and the top-1 action of the latest window that has begun written in its
corner."""
from pathlib import Path

import numpy as np

from reader.video import open_video
from reader.video.frames import import_cv2
from .messages import InferError

# MediaPipe landmark pairs drawn as bones: face outline, arms and hands, trunk, legs and feet
BONES = ((0, 7), (0, 8), (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
         (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20), (11, 23), (12, 24),
         (23, 24), (23, 25), (25, 27), (27, 29), (27, 31), (29, 31), (24, 26), (26, 28),
         (28, 30), (28, 32), (30, 32))
# BGR: bones per person (green, orange, violet), joints, text
BONE_COLOURS = ((80, 220, 80), (40, 160, 255), (220, 90, 200))
JOINT_COLOUR, TEXT_COLOUR = (40, 40, 230), (255, 255, 255)
FOURCC = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v'}   # others: Motion JPEG (.avi)
DEFAULT_SUFFIX = '.avi'


def output_path(save_video, name):
    """OUT itself when it names a video file, else OUT/<name>.avi (OUT a folder, created)."""
    out = Path(save_video)
    if out.suffix:
        return out
    out.mkdir(parents=True, exist_ok=True)
    return out / f'{name}{DEFAULT_SUFFIX}'


def frame_labels(entry, num_frames):
    """Per frame, the top-1 'class prob' of the latest window that starts at or before it."""
    labels, windows = [], entry['windows']
    current = 0
    for frame in range(num_frames):
        while current + 1 < len(windows) and windows[current + 1]['start_frame'] <= frame:
            current += 1
        _, name, prob = windows[current]['top5'][0]
        labels.append(f'{name} {prob:.2f}')
    return labels


def save_video(poses, entry, path):
    """Writes the drawn clip (a file's VideoPoses: every decoded frame) to `path` at the clip's
    frame rate and size."""
    cv2 = import_cv2()
    info, frames = open_video(poses.path)
    fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(Path(path).suffix.lower(), 'MJPG'))
    writer = cv2.VideoWriter(str(path), fourcc, info.fps, (info.width, info.height))
    if not writer.isOpened():
        raise InferError(f'{path}: OpenCV cannot write a video there (folder missing or not '
                         'writable, or no encoder for that suffix: use .avi)')
    scale = max(1, round(info.height / 540))
    labels = frame_labels(entry, poses.num_frames)
    try:
        for index, (_, frame) in enumerate(frames):
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            if index < poses.num_frames:
                for person in np.flatnonzero(poses.found[:, index]):
                    draw_skeleton(cv2, frame, poses.image[person, index], scale,
                                  BONE_COLOURS[person % len(BONE_COLOURS)])
                cv2.putText(frame, labels[index], (10 * scale, 30 * scale),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, TEXT_COLOUR, 2 * scale,
                            cv2.LINE_AA)
            writer.write(frame)
    finally:
        writer.release()
    return path


def draw_skeleton(cv2, frame, points, scale, colour):
    points = np.round(points).astype(int)
    for a, b in BONES:
        cv2.line(frame, tuple(points[a]), tuple(points[b]), colour, 2 * scale, cv2.LINE_AA)
    for point in points:
        cv2.circle(frame, tuple(point), 3 * scale, JOINT_COLOUR, -1, cv2.LINE_AA)
