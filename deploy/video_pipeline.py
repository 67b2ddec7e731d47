"""A video file, a camera or a stream -> the actions in its windows, with an exported model's
runner: the one function infer.py --video and a Python script call.

    entry = predict_video('clip.mp4', runner, deploy, stride=30)      # a file
    entry = predict_video('0', runner, deploy)                          # a camera
    entry = predict_video('http://camera.local/video.mjpg', runner, deploy, on_window=print)

`runner` takes a batch of model inputs and gives logits (deploy.runtimes.make_runner), `deploy`
is the exported model's .yml (deploy.model_config.read_deploy_config). Returns the video's
entry: its windows (time span, frames, people seen, top-5 as class index, name and probability,
logits) and the summary (video_results.py). A file's windows come when it has been read; a live
source's as soon as each window's last frame has arrived, frames being skipped by time stamp
when the CPU falls behind (counted, and the delay from a window's last frame to its result
reported); the end of the stream or Ctrl-C ends it with the summary of what was seen.
"""
import time

import numpy as np

from reader.video import video_poses
from reader.video.frames import native_stderr_muted
from reader.video.landmarks import import_mediapipe
from reader.video.live import LiveVideo, is_live
from reader.video.pose_models import PoseModels

from .batches import to_model_inputs
from .video_drawing import save_video as draw_video
from .video_live import live_entry, model_process
from .video_results import clip_entry, window_entry
from .video_windows import check_length, file_windows, window_sample

STREAM_TIMEOUT_S = 10.0   # seconds without a frame after which a camera or stream has stopped


def predict_video(source, runner, deploy, stride=30, mirrored=False, batch_size=16,
                  on_window=None, progress=None, save_video=None,
                  stream_timeout=STREAM_TIMEOUT_S):
    """The entry of one video file, camera index or stream address (see the module's text).
    `on_window(window_entry)` is called for each window as its result is known. `save_video`:
    a video file to write the frames to with the people's skeletons and the current top-1
    drawn (video_drawing.py). A camera or stream that sends no frame for `stream_timeout`
    seconds has stopped (an error before its first frame). Raises VideoError (one line) for a
    source that cannot be read, shows nobody or is too short."""
    import_mediapipe()
    if stride < 1:
        raise ValueError(f'stride must be at least 1, got {stride}')
    if is_live(source):
        return _live(source, runner, deploy, stride, mirrored, on_window, progress, save_video,
                     stream_timeout)
    poses = video_poses(source, progress, rate=float(deploy['frame_rate']))
    entry = score_poses(poses, runner, deploy, stride, mirrored, batch_size, on_window)
    if save_video:
        entry['saved'] = str(draw_video(poses, entry, save_video))
    return entry


def score_poses(poses, runner, deploy, stride=30, mirrored=False, batch_size=16,
                on_window=None):
    """The entry of a whole video's VideoPoses (reader.video.video_poses)."""
    check_length(poses.path, poses.times, float(deploy['frame_rate']))
    windows = file_windows(poses, deploy, stride)
    entries = []
    for first in range(0, len(windows), batch_size):
        entries += _scored(windows[first:first + batch_size], runner, deploy, mirrored)
    for entry in entries:
        if on_window:
            on_window(entry)
    return clip_entry(poses, entries, deploy)


def _live(source, runner, deploy, stride, mirrored, on_window, progress, save_video,
          stream_timeout):
    # the pose models loaded and the model run once before the stream opens: no frame waits
    # for them (LiteRT's start-up log muted, as when a file is read); on the CPU, the model in
    # a process of its own (video_live.ModelProcess), started meanwhile
    warm_up = [1] + list(deploy['input_shape'][1:])
    model = model_process(runner, warm_up) or runner
    with native_stderr_muted():
        models = PoseModels()
    if model is runner:
        runner(np.zeros(warm_up, np.float32))
    else:
        model.ready()
    video = LiveVideo(source, stream_timeout, stream_timeout, float(deploy['frame_rate']))
    return live_entry(video, models, deploy, stride,
                      lambda windows: _scored(windows, model, deploy, mirrored), on_window,
                      progress, save_video)


def _scored(windows, runner, deploy, mirrored):
    """Window entries of a batch of windows, each with its delay when live."""
    if not windows:
        return []
    samples = [window_sample(window, deploy, mirrored) for window in windows]
    logits = runner(to_model_inputs(samples, deploy))
    done = time.monotonic()
    return [window_entry(window, z, deploy,
                         None if window.arrival is None else done - window.arrival)
            for window, z in zip(windows, np.asarray(logits))]
