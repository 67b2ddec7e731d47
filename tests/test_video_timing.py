"""Frames at the model's frame rate by their time stamps (reader/video/timing.py, VideoPoses.
at_rate) and the windows cut from them (deploy/video_windows.py), on poses made up here: no
video, no MediaPipe."""
from pathlib import Path

import numpy as np
import pytest

from deploy.video_windows import WindowCutter
from reader.video import VideoPoses
from reader.video.timing import FrameClock


def moving_poses(times, found=None):
    """One person whose every landmark sits at x = the frame's time (seconds): any frame
    taken or interpolated at time t shows x = t."""
    times = np.asarray(times, np.float64)
    frames = len(times)
    world = np.zeros((1, frames, 33, 3), np.float32)
    world[..., 0] = times[None, :, None]
    image = world[..., :2] * 100
    found = np.ones((1, frames), bool) if found is None else np.asarray(found, bool)[None]
    return VideoPoses(Path('made_up.mp4'), 25.0, (480, 640), times, np.arange(frames), world,
                      image, np.ones((1, frames, 33), np.float32), found)


def test_60_fps_drops_every_other_frame():
    poses = moving_poses(np.arange(12) / 60).at_rate(30)
    assert poses.num_frames == 6
    assert list(poses.frame_index) == [0, 2, 4, 6, 8, 10]
    np.testing.assert_allclose(poses.world[0, :, 0, 0], np.arange(6) / 30, atol=1e-6)


def test_15_fps_is_interpolated_between_its_frames():
    """Between two 15 fps frames the pose is halfway: the motion keeps its speed (a repeated
    frame would stand still, then jump)."""
    poses = moving_poses(np.arange(6) / 15).at_rate(30)
    assert poses.num_frames == 11
    np.testing.assert_allclose(poses.world[0, :, 0, 0], np.arange(11) / 30, atol=1e-6)
    np.testing.assert_allclose(poses.times, np.arange(11) / 30)
    steps = np.diff(poses.image[0, :, 0, 0])
    np.testing.assert_allclose(steps, steps[0], atol=1e-4)


def test_a_variable_frame_rate_is_read_by_its_time_stamps():
    times = [0.0, 0.02, 0.09, 0.1, 0.2, 0.26, 0.3335]
    poses = moving_poses(times).at_rate(30)
    assert poses.num_frames == 11   # 0.3335 s: ten ticks after the first
    np.testing.assert_allclose(poses.world[0, :, 0, 0], np.arange(11) / 30, atol=2e-3)


def test_a_stated_rate_is_not_used():
    """Frames arriving 30 times a second from a stream whose header says 25 are 30 ticks a
    second: the times decide."""
    poses = moving_poses(np.arange(30) / 30)
    assert poses.fps == 25 and poses.at_rate(30).num_frames == 30


def test_no_pose_is_made_up_where_the_person_is_absent():
    """A tick between a frame with the person and one without takes the frame shown by then,
    as it is: no interpolation towards zeros."""
    poses = moving_poses(np.arange(4) / 15, found=[True, False, True, True]).at_rate(30)
    assert list(poses.found[0]) == [True, True, False, False, True, True, True]
    np.testing.assert_allclose(poses.world[0, 1, 0, 0], 0.0)
    np.testing.assert_allclose(poses.world[0, 5, 0, 0], 5 / 30, atol=1e-6)


def test_windows_of_a_file_and_of_a_live_stream():
    file = WindowCutter(32, 20)
    assert file.final(103) == [(0, 32), (20, 52), (40, 72), (60, 92), (71, 103)]
    assert WindowCutter(288, 30).final(103) == [(0, 103)]
    live = WindowCutter(64, 15, growing=True, min_frames=30)
    assert live.ready(29) == []
    assert live.ready(45) == [(0, 30), (0, 45)]
    assert live.ready(80) == [(0, 60), (0, 64), (15, 79)]
    assert live.final(83, least=7) == []          # 4 frames after the last window
    assert live.final(90, least=7) == [(26, 90)]
    assert live.final(90) == []


def taken(times, rate=30):
    """The rows FrameClock takes of frames at these times, deciding frame by frame."""
    clock = FrameClock(rate)
    return [row for row, time in enumerate(times) if clock.takes(time)]


def test_the_clock_takes_every_other_frame_at_60_fps_and_every_frame_up_to_30():
    assert taken(np.arange(24) / 60) == list(range(0, 24, 2))
    assert taken(np.arange(48) / 120) == list(range(0, 48, 4))
    assert taken(np.arange(25) / 50) == [0, 2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18, 20, 22, 23]
    for fps in (15, 24, 25, 30):
        assert taken(np.arange(40) / fps) == list(range(40)), fps
    # 30 frames/s arriving up to 10 ms early or late (a stream's arrival times)
    jitter = np.random.RandomState(0).uniform(-0.01, 0.01, 60)
    assert taken(np.arange(60) / 30 + jitter) == list(range(60))


@pytest.mark.parametrize('fps', [24, 25, 30, 48, 50, 60, 90, 120])
def test_the_frames_taken_give_the_poses_of_every_frame(fps):
    """At the model's 30 frames/s, the frames the clock takes give the poses that every frame
    gives: the same ticks, and on a steady motion the same positions within a quarter tick
    (frames_at takes a frame up to a quarter tick late)."""
    times = np.arange(int(fps * 1.5) + 1) / fps
    every = moving_poses(times)
    rows = taken(times)
    assert len(rows) == (len(times) if fps <= 30 else 46), (len(rows), len(times))
    some = every.rows(rows).at_rate(30)
    assert some.num_frames == every.at_rate(30).num_frames
    np.testing.assert_allclose(some.world, every.at_rate(30).world, atol=1 / 120 + 1e-6)
    np.testing.assert_allclose(some.world[0, :, 0, 0], np.arange(some.num_frames) / 30,
                               atol=1 / 120 + 1e-6)
