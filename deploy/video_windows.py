"""A video's frames, as they come, into the windows an exported model scores.

Frames are tracked (reader/video: up to two people's poses with stable identities), taken at
the model's frame rate by their time stamps (dropped or repeated), and cut into windows of the
model's frame count every `stride` frames at that rate; each window is prepared as -gd prepares
a pose annotation, with the two most prominent people in it as the model's two bodies."""
from dataclasses import dataclass

import numpy as np

import reader
from reader.video import VideoError, video_annotation
from reader.video.landmarks import PoseRecorder
from reader.video.pose_models import PoseModels
from reader.video.timing import LATE, frames_at, tick_times
from reader.video.tracking import DETECT_EVERY_S, LIVE_DETECT_EVERY_S, PeopleTracker

from .model_config import check_sample_shape

MIN_SECONDS = 1.0   # shorter clips show no action


@dataclass
class Window:
    start: int                # model-rate frames [start, end) of the clip
    end: int
    poses: object             # reader.video.VideoPoses of those frames at the model's rate
    people: int               # people found in it (the model sees at most two)
    arrival: float = None     # live: time.monotonic() when its last frame arrived


class WindowCutter:
    """Windows [start, end): `length` frames every `stride`, the last one ending with the clip
    (the whole clip when it is shorter). `growing`: before the first whole window, one every
    `stride` frames from the first frame on, once `min_frames` have come (live video)."""

    def __init__(self, length, stride, growing=False, min_frames=1):
        self.length, self.stride, self.growing, self.min_frames = length, stride, growing, \
            min_frames
        self.next_start, self.next_growing_end, self.last_end = 0, stride, 0

    def ready(self, frames):
        """The windows complete once `frames` frames have come, not given before."""
        windows = []
        if self.growing:
            while self.next_growing_end <= min(frames, self.length - 1):
                if self.next_growing_end >= self.min_frames:
                    windows.append((0, self.next_growing_end))
                self.next_growing_end += self.stride
        while self.next_start + self.length <= frames:
            windows.append((self.next_start, self.next_start + self.length))
            self.next_start += self.stride
        return self._given(windows)

    def final(self, frames, least=1):
        """The windows still to give when the clip has ended after `frames` frames: the one
        ending with the clip when it ends at least `least` frames after the last given."""
        windows = self.ready(frames)
        if frames and (frames - self.last_end >= least or not self.last_end):
            windows.append((max(0, frames - self.length), frames))
        return self._given(windows)

    def _given(self, windows):
        if windows:
            self.last_end = max(self.last_end, windows[-1][1])
        return windows


class ClipTracker:
    """One clip's frames, as they come: people tracked, frames at the model's rate, windows."""

    def __init__(self, name, fps, img_shape, deploy, stride, growing=False, models=None):
        self.rate = float(deploy['frame_rate'])
        self.tracker = PeopleTracker(models or PoseModels(),
                                     detect_every=LIVE_DETECT_EVERY_S if growing else
                                     DETECT_EVERY_S)
        self.recorder = PoseRecorder(name, fps, img_shape)
        self.cutter = WindowCutter(deploy['num_frame'], stride, growing,
                                   int(np.ceil(MIN_SECONDS * self.rate)))
        self.arrivals = []

    def add(self, time, index, frame, arrival=None):
        """Tracks the people of a frame; returns them ({identity: pose_models.Pose})."""
        people = self.tracker.step(frame, time)
        self.recorder.add(time, index, people)
        self.arrivals.append(arrival)
        return people

    def windows(self, ended=False):
        """The windows completed by the frames so far (all that are left once `ended`)."""
        times = np.array(self.recorder.times)
        ticks = tick_times(times, self.rate)
        if not ended:   # a tick is settled once a frame later than it may count has come
            ticks = ticks[ticks + LATE / self.rate < times[-1]]
        # live, a last window only if the clip went on for half a stride after the latest
        bounds = self.cutter.final(len(ticks), max(1, self.cutter.stride // 2)) if ended else \
            self.cutter.ready(len(ticks))
        return [self._window(times, ticks, start, end) for start, end in bounds]

    def _window(self, times, ticks, start, end):
        rows, following, weight = frames_at(times, ticks[start:end], self.rate)
        poses = self.recorder.poses(int(rows[0])).at_times(ticks[start:end], self.rate)
        last = following[-1] if weight[-1] > 0 else rows[-1]   # the last frame it shows
        return window_of(poses, start, end, self.arrivals[last])

    def poses(self):
        """Every frame's poses (the video's own frames and times)."""
        return self.recorder.poses()


def window_of(poses, start, end, arrival=None):
    return Window(start, end, poses, int(poses.found.any(axis=1).sum()), arrival)


def file_windows(poses, deploy, stride):
    """The windows of a whole video's VideoPoses."""
    at_rate = poses.at_rate(float(deploy['frame_rate']))
    cutter = WindowCutter(deploy['num_frame'], stride)
    return [window_of(at_rate.rows(range(start, end)), start, end)
            for start, end in cutter.final(at_rate.num_frames)]


def check_length(name, times, rate):
    """VideoError for a clip shorter than MIN_SECONDS at the model's rate."""
    frames = len(tick_times(times, rate))
    if frames < MIN_SECONDS * rate:
        raise VideoError(f'{name}: {frames / rate:.2f} s of video: too short to show an '
                         f'action (at least {MIN_SECONDS:g} s)')


def window_sample(window, deploy, mirrored):
    """A window as the model's input sample (C, T, V, M), prepared as -gd prepares it."""
    annotation = video_annotation(window.poses, deploy['layout'], deploy['keypoint_dim'],
                                  mirrored=mirrored)
    sample, _, _ = reader.pose_sample(annotation, deploy['input_shape'][-2],
                                      deploy['keypoint_dim'], deploy['max_frame'],
                                      bool(deploy['transform']))
    check_sample_shape(sample.shape, deploy, window.poses.path.name)
    return sample
