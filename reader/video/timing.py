"""Frames by their time stamps at the frame rate a model was trained on: a video filmed at
another rate (60 or 24 frames/s, or a variable rate) shows the model its motion at the speed
it learnt. Faster videos have frames dropped; between the frames of a slower one the poses are
interpolated (a frame shown twice would give the model's motion input a standstill, then a
double step). The pose models run only on the frames that clock takes (FrameClock), so a
60 frames/s video costs what a 30 frames/s one does."""
from collections import deque

import numpy as np

# NTU RGB+D's rate, and so every NTU-trained model's; a config's dataset_args.pose.frame_rate
# (the rate -gd takes videos at) replaces it.
DEFAULT_FRAME_RATE = 30.0
# A frame counts for a tick of the model's clock up to a quarter tick late (time-stamp jitter).
LATE = 0.25
# The next frame is expected after the median of this many recent frame intervals
INTERVALS = 9


def tick_times(times, rate):
    """The model's clock: one tick every 1/rate s from the first frame's time, as many as the
    frames span (a quarter tick of lateness allowed at the end)."""
    times = np.asarray(times, np.float64)
    if not len(times):
        return np.zeros(0)
    count = int(np.floor((times[-1] - times[0]) * rate + LATE)) + 1
    return times[0] + np.arange(count) / rate


def frames_at(times, ticks, rate):
    """For each tick: the row of the latest frame shown by then (a quarter tick late counts),
    the next row, and how far the tick lies from the one to the other (0 when the frame is on
    time, or when there is no next frame)."""
    times = np.asarray(times, np.float64)
    ticks = np.asarray(ticks, np.float64)
    rows = np.maximum(np.searchsorted(times, ticks + LATE / rate, side='right') - 1, 0)
    following = np.minimum(rows + 1, len(times) - 1)
    span = times[following] - times[rows]
    weight = np.where(span > 0, (ticks - times[rows]) / np.where(span > 0, span, 1), 0.0)
    return rows, following, np.clip(weight, 0, 1)


class FrameClock:
    """Which frames the model's clock takes, decided frame by frame as they come (a file or a
    live stream alike), without waiting for the next one: the frame nearest each tick, judged
    by when the next frame is expected (after the median of the recent frame intervals). A
    frame is taken once it lies less than half an interval before the pending tick, or past it;
    the next tick is then pending. Every frame of a video no faster than the model's rate is
    taken, every other of a 60 frames/s one; frames_at on the frames taken gives the poses it
    gives on every frame, within a quarter tick."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.first = self.last = None
        self.pending = 0          # the tick waiting for its frame, counted from the first frame's
        self.intervals = deque(maxlen=INTERVALS)

    def takes(self, time):
        """Whether the frame at `time` seconds (after the previous frame's) is needed."""
        if self.first is None:
            self.first = self.last = time
            self.pending = 1
            return True
        self.intervals.append(time - self.last)
        self.last = time
        tick = self.first + self.pending / self.rate
        if time < tick - float(np.median(self.intervals)) / 2:
            return False
        self.pending = max(self.pending + 1, int(np.floor((time - self.first) * self.rate)) + 1)
        return True
