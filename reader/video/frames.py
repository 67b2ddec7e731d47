"""A video's frames, decoded with OpenCV, and the errors of reading videos."""
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.errors import UserError
from utils.native_output import descriptor_redirected

INSTALL = 'pip install -r requirements-video.txt'
DEFAULT_FPS = 30.0   # when the container gives no frame rate
# What a folder of videos is searched for (a file named on its own is tried whatever its suffix)
VIDEO_SUFFIXES = {'.avi', '.mp4', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv',
                  '.flv', '.3gp'}


class VideoError(UserError):
    """One video that cannot be used (not a video, undecodable, nobody in it); the others can
    still be read."""


class VideoSetupError(UserError):
    """Videos cannot be read at all here: OpenCV or MediaPipe missing or unusable."""


def import_cv2():
    try:
        import cv2
    except ImportError as e:
        raise VideoSetupError(f'reading videos needs OpenCV ({e}): {INSTALL}') from None
    return cv2


@dataclass
class VideoInfo:
    path: Path
    fps: float            # frames per second (DEFAULT_FPS when the file gives none)
    height: int
    width: int
    frame_count: int      # as the container says; the frames decoded may differ


def open_video(path):
    """(VideoInfo, iterator of (seconds, RGB uint8 frame (height, width, 3))); VideoError for a
    path that is not a file OpenCV can decode. Each frame's time is its time stamp in the file
    (a variable frame rate stays as filmed), from the first frame's."""
    info, frames = open_frames(path)
    return info, ((time, image) for _, time, image in frames)


def open_frames(path, takes=None):
    """(VideoInfo, iterator of (index, seconds, RGB frame or None)) of every frame, as
    open_video, the image None where `takes(seconds)` says the frame is not needed: such a
    frame is only grabbed (demuxed, and decoded where the codec must decode every frame), never
    retrieved as an image nor colour-converted."""
    cv2 = import_cv2()
    path = Path(path)
    if not path.is_file():
        raise VideoError(f'{path}: ' + ('a folder, not a video file' if path.is_dir() else
                                        'no such file'))
    capture = cv2.VideoCapture(str(path))
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise VideoError(f'{path}: OpenCV cannot decode it as a video (not a video, or a '
                         'codec this OpenCV build lacks)')
    fps = capture.get(cv2.CAP_PROP_FPS)
    info = VideoInfo(path, fps if fps and fps > 0 else DEFAULT_FPS, first.shape[0],
                     first.shape[1], int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    return info, _frames(cv2, capture, first, takes or (lambda time: True))


def _frames(cv2, capture, first, takes):
    stamps = FrameTimes(capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS)
    try:
        time = stamps.next(capture.get(cv2.CAP_PROP_POS_MSEC))
        yield 0, time, cv2.cvtColor(first, cv2.COLOR_BGR2RGB) if takes(time) else None
        index = 0
        while capture.grab():
            index += 1
            # the time stamp of the frame grabbed (set by grab, before any retrieve)
            time = stamps.next(capture.get(cv2.CAP_PROP_POS_MSEC))
            ok, frame = capture.retrieve() if takes(time) else (False, None)
            yield index, time, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None
    finally:
        capture.release()


class FrameTimes:
    """Seconds from the first frame, from the decoder's time stamps. A stamp that does not
    move forward (FFmpeg gives 0 for the frames it drains from the decoder at the end of some
    files) is the previous one plus a frame at the stated rate."""

    def __init__(self, fps):
        self.period = 1 / fps
        self.first = self.last = None

    def next(self, msec):
        stamp = msec / 1000 if msec is not None and np.isfinite(msec) else None
        if self.first is None:
            self.first = stamp if stamp is not None else 0.0
            self.last = self.first
        elif stamp is None or stamp <= self.last:
            self.last += self.period
        else:
            self.last = stamp
        return self.last - self.first


@contextlib.contextmanager
def native_stderr_muted():
    """Silence what native libraries print on stderr meanwhile (FFmpeg's complaints about a file
    OpenCV then reports as undecodable, MediaPipe's and TFLite's start-up logs), while Python's
    sys.stderr still reaches the terminal: problems surface as exceptions and one-line errors."""
    sys.stderr.flush()
    python_stderr = sys.stderr
    with open(os.devnull, 'w') as devnull, descriptor_redirected(2, devnull.fileno()) as saved:
        sys.stderr = open(os.dup(saved), 'w', buffering=1, encoding=python_stderr.encoding,
                          errors='backslashreplace')
        try:
            yield
        finally:
            sys.stderr.close()
            sys.stderr = python_stderr
