"""Frames by their time stamps at the frame rate a model was trained on: a video filmed at
another rate (60 or 24 frames/s, or a variable rate) shows the model its motion at the speed
it learnt, with frames dropped or repeated."""
import numpy as np

# NTU RGB+D's rate, and so every NTU-trained model's; a config's dataset_args.pose.frame_rate
# (the rate -gd takes videos at) replaces it.
DEFAULT_FRAME_RATE = 30.0
# A frame counts for a tick of the model's clock up to a quarter tick late (time-stamp jitter).
LATE = 0.25


def model_rate_rows(times, rate):
    """Per tick of `rate` frames/s from the first frame's time to the last's, the row of the
    latest frame shown by then: (K,) int, K = 1 + the whole ticks the frames span."""
    times = np.asarray(times, np.float64)
    if not len(times):
        return np.zeros(0, int)
    ticks = times[0] + np.arange(int(np.floor((times[-1] - times[0]) * rate + LATE)) + 1) / rate
    return np.maximum(np.searchsorted(times, ticks + LATE / rate, side='right') - 1, 0)
