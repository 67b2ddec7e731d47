"""--save-video: the clip again, with each tracked person's skeleton drawn on every frame (a
colour per person) and the top-1 action of the latest window that has begun written in its
corner; a camera or stream as it was processed (LiveRecording)."""
import queue
import threading
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
RECORDING_WIDTH = 960   # a live recording's width at most (encoding 1080p costs a core's third)


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


def open_writer(path, fps, width, height):
    cv2 = import_cv2()
    fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(Path(path).suffix.lower(), 'MJPG'))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise InferError(f'{path}: OpenCV cannot write a video there (folder missing or not '
                         'writable, or no encoder for that suffix: use .avi)')
    return writer


def drawn(cv2, frame, people, label):
    """A BGR copy of an RGB frame with the people's skeletons ((person, (33, 2) pixels) pairs)
    and the label drawn."""
    frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    scale = max(1, round(frame.shape[0] / 540))
    for person, points in people:
        draw_skeleton(cv2, frame, points, scale, BONE_COLOURS[person % len(BONE_COLOURS)])
    if label:
        cv2.putText(frame, label, (10 * scale, 30 * scale), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8 * scale, TEXT_COLOUR, 2 * scale, cv2.LINE_AA)
    return frame


def save_video(poses, entry, path):
    """Writes the drawn clip (a file's VideoPoses) to `path` at the clip's frame rate and size:
    every decoded frame, those the pose models skipped with the people as they are between the
    frames around it (VideoPoses.at_times)."""
    cv2 = import_cv2()
    info, frames = open_video(poses.path)
    writer = open_writer(path, info.fps, info.width, info.height)
    labels = frame_labels(entry, poses.video_frames)
    try:
        for index, (time, frame) in enumerate(frames):
            if index < len(labels):
                shown = poses.at_times(np.array([time]), info.fps)
                people = [(p, shown.image[p, 0]) for p in np.flatnonzero(shown.found[:, 0])]
                frame = drawn(cv2, frame, people, labels[index])
            else:
                frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            writer.write(frame)
    finally:
        writer.release()
    return path


class LiveRecording:
    """--save-video of a camera or stream, drawn as it is processed with the latest window's
    top-1, at most RECORDING_WIDTH pixels wide: each frame written as often as the model's clock
    ticked since the last one, so that the file plays at the speed of what was filmed (skipped
    frames are held). The frames are scaled, drawn and written in a thread of its own: the
    processing never waits for them (at most QUEUED frames wait; then it does)."""

    QUEUED = 30

    def __init__(self, path, rate, width, height):
        self.cv2 = import_cv2()
        self.path, self.rate = path, rate
        self.scale = min(1.0, RECORDING_WIDTH / width)
        size = (int(round(width * self.scale)) // 2 * 2, int(round(height * self.scale)) // 2 * 2)
        self.size = size
        self.writer = open_writer(path, rate, *size)
        self.written, self.label, self.last = 0, '', None
        self.queue = queue.Queue(self.QUEUED)
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def add(self, frame, seconds, people):
        """An RGB frame at `seconds` with {person: (33, 2) pixels}."""
        due = self._due(seconds)
        if due > 0:
            self.queue.put((frame, sorted(people.items()), self.label, due))
            self.written += due

    def _due(self, seconds):
        return int(seconds * self.rate + 0.5) + 1 - self.written

    def window(self, entry):
        _, name, prob = entry['top5'][0]
        self.label = f'{name} {prob:.2f}'

    def _write(self):
        while (item := self.queue.get()) is not None:
            frame, people, label, count = item
            if frame is not None:   # else the last frame drawn, held
                small = frame if frame.shape[1::-1] == self.size else self.cv2.resize(
                    frame, self.size, interpolation=self.cv2.INTER_AREA)
                self.last = drawn(self.cv2, small, [(person, points * self.scale)
                                                    for person, points in people], label)
            for _ in range(count):
                self.writer.write(self.last)

    def close(self, seconds=None):
        """`seconds`: when the last frame arrived; the last frame drawn is held until then (the
        frames that arrived after it were not processed), so the file lasts as the stream did."""
        due = self._due(seconds) if seconds is not None and self.written else 0
        if due > 0:
            self.queue.put((None, None, None, due))
        self.queue.put(None)
        self.thread.join()
        self.writer.release()
        return self.path


def draw_skeleton(cv2, frame, points, scale, colour):
    points = np.round(points).astype(int)
    for a, b in BONES:
        cv2.line(frame, tuple(points[a]), tuple(points[b]), colour, 2 * scale, cv2.LINE_AA)
    for point in points:
        cv2.circle(frame, tuple(point), 3 * scale, JOINT_COLOUR, -1, cv2.LINE_AA)
