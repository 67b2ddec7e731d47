"""Frames by their time stamps at the frame rate a model was trained on: a video filmed at
another rate (60 or 24 frames/s, or a variable rate) shows the model its motion at the speed
it learnt. Faster videos have frames dropped; between the frames of a slower one the poses are
interpolated (a frame shown twice would give the model's motion input a standstill, then a
double step)."""
import numpy as np

# NTU RGB+D's rate, and so every NTU-trained model's; a config's dataset_args.pose.frame_rate
# (the rate -gd takes videos at) replaces it.
DEFAULT_FRAME_RATE = 30.0
# A frame counts for a tick of the model's clock up to a quarter tick late (time-stamp jitter).
LATE = 0.25


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
