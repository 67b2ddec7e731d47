"""infer.py --video on live sources, as a user runs it: a clip served in real time as an MJPEG
stream on 127.0.0.1 (tests/mjpeg_server.py), read with windows printed while it plays; a stream
that stops mid-way, an address nobody serves, a server that never sends a frame and a camera
that does not exist, one line each; the scorer thread and the model's own process that keep
the model off the pose models' way."""
import functools
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import HUG_CLIP
from mjpeg_server import MjpegServer, jpeg_frames
from utils.config import REPO_DIR

TIMEOUT_S = 2


def infer_live(model_file, *videos, options=()):
    """infer.py --video VIDEOS (a window every 15 frames): its return code, its stdout lines
    each with the time.monotonic() it arrived here, and its stderr."""
    process = subprocess.Popen(
        [sys.executable, 'infer.py', '--model_file', str(model_file), '--video', *videos,
         '--stride', '15', '--stream-timeout', str(TIMEOUT_S), *map(str, options)],
        cwd=REPO_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    lines = [(time.monotonic(), line.rstrip('\n')) for line in process.stdout]
    stderr = process.stderr.read()
    return process.wait(timeout=600), lines, stderr


def window_lines(lines):
    return [(when, line) for when, line in lines if ' s  (frames ' in line]


def test_a_stream_is_read_live(clips, exported_xview, tmp_path):
    """The hugging clip served at 30 frames/s: windows are printed while it plays, the last
    within a second of its end, then the summary with the frames skipped and the delay; the
    drawn recording plays for as long as the stream did, within a second."""
    recording = tmp_path / 'live.avi'
    with MjpegServer(jpeg_frames(clips[HUG_CLIP])) as server:
        code, lines, stderr = infer_live(exported_xview, server.url,
                                         options=['--save-video', recording])
    assert code == 0 and 'Traceback' not in stderr, stderr[-3000:]
    assert 'Warning' not in stderr, stderr   # the model's process starts cleanly too
    windows = window_lines(lines)
    assert len(windows) >= 2, lines
    assert all(line.startswith(server.url + '  ') for _, line in windows)
    assert windows[0][0] < server.ended, 'no window before the stream ended'
    assert windows[-1][0] - server.ended < 1.0, windows[-1][0] - server.ended
    assert all('(delay ' in line for _, line in windows)
    summary = [line for _, line in lines if line.startswith(server.url + ': ')]
    assert len(summary) == 1, lines
    assert " windows skipped, delay " in summary[0] and "connection closed" in summary[0], summary
    assert any(line == f'Wrote {recording}' for _, line in lines), lines
    # as long as the stream, on the arrivals' clock: at least its 72 frames (less one for
    # rounding), and at most a second more where a busy machine spread their arrivals
    assert 71 <= frame_count(recording) <= 72 + 30


def frame_count(path):
    import cv2
    capture, count = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        count += 1
    return count


def unserved_address():
    """An address on 127.0.0.1 that nobody listens on (a port just freed)."""
    with socket.create_server(('127.0.0.1', 0)) as probe:
        port = probe.getsockname()[1]
    return f'http://127.0.0.1:{port}/video.mjpg'


def test_bad_live_sources_are_one_line_each(clips, exported_xview):
    """In one run: a stream that stops sending after 40 frames (one warning line, then its
    summary of what was seen), an address nobody serves, a server that never sends a frame and
    camera 9 (one error line each); the run goes on past each."""
    frames = jpeg_frames(clips[HUG_CLIP], limit=40)
    nobody = unserved_address()
    with MjpegServer(frames, stop_after=40, stall_s=TIMEOUT_S + 3) as stopping, \
            MjpegServer(frames, silent=True, stall_s=TIMEOUT_S + 3) as silent:
        code, lines, stderr = infer_live(exported_xview, stopping.url, nobody, silent.url, '9')
    assert code == 0 and 'Traceback' not in stderr, stderr[-3000:]
    assert 'INFO:' not in stderr, stderr   # LiteRT's start-up log is muted
    problems = [line for line in stderr.splitlines() if line.startswith(('error:', 'warning:'))]
    assert len(problems) == 5, stderr   # four sources, and the count of those skipped
    assert f'warning: {stopping.url}: the stream stopped (no frame for {TIMEOUT_S} s)' in \
        problems[0]
    assert problems[1].startswith(f'error: {nobody}: cannot open the stream')
    assert problems[2].startswith(f'error: {silent.url}: ')
    assert 'no frame arrived within' in problems[2] or 'cannot open' in problems[2]
    assert problems[3] == 'error: camera 9: no such camera, or it is in use'
    assert 'skipped 3 of 4 inputs' in problems[4]
    assert any(line.startswith(stopping.url + ': ') for _, line in lines), lines


def test_a_recording_lasts_as_long_as_the_stream(tmp_path):
    """--save-video of a stream whose last frames arrived while the CPU was still busy: the
    last frame drawn is held until the last arrival, so the file lasts as the stream did."""
    pytest.importorskip('cv2')
    from deploy.video_drawing import LiveRecording
    recording = LiveRecording(tmp_path / 'held.avi', 30.0, 64, 48)
    for index in range(10):                     # frames processed: the first third of a second
        recording.add(np.full((48, 64, 3), index, np.uint8), index / 30, {})
    recording.close(59 / 30)                    # the stream's last frame arrived at 1.97 s
    assert frame_count(tmp_path / 'held.avi') == 60


def test_the_scorer_scores_the_newest_window_and_counts_those_left_out():
    """While the model is busy with one window, of those ready meanwhile only the newest is
    scored next (the others counted as skipped); what scoring raises reaches the caller."""
    from deploy.video_live import WindowScorer
    done, busy, release = [], threading.Event(), threading.Event()

    def score(windows):
        busy.set()
        release.wait(10)
        done.extend(windows)
    scorer = WindowScorer(score)
    scorer.submit([1])
    assert busy.wait(10)           # window 1 is being scored
    scorer.submit([2, 3])          # 2 left out, 3 waits
    scorer.submit([])
    scorer.submit([4])             # replaces 3
    release.set()
    scorer.close()
    assert done == [1, 4] and scorer.skipped == 2

    def fail(windows):
        raise ValueError('the model failed')
    failing = WindowScorer(fail)
    failing.submit([1])
    with pytest.raises(ValueError, match='the model failed'):
        failing.close()


def test_the_model_process_runs_the_runner_built_again():
    """On the CPU the live model runs in a process of its own (Paddle Inference holds the GIL
    while it runs): the runner its recipe builds there gives its results here, and what it
    raises is raised here."""
    import operator

    from deploy.video_live import ModelProcess
    batch = np.arange(12, dtype=np.float32).reshape(3, 4)
    model = ModelProcess(functools.partial(operator.methodcaller, 'sum', axis=1), [1, 4])
    try:
        model.ready()
        np.testing.assert_array_equal(model(batch), batch.sum(axis=1))
        assert model.process.pid != os.getpid() and model.process.poll() is None
    finally:
        model.close()
    assert model.process.returncode == 0
    failing = ModelProcess(functools.partial(operator.methodcaller, 'sum', axis=5), [1, 4])
    try:
        with pytest.raises(np.exceptions.AxisError):
            failing.ready()
    finally:
        failing.close()


def test_a_60_fps_stream_offers_the_frames_the_model_takes():
    """A stream at 60 frames/s read for a 30 frames/s model: about every other frame is only
    grabbed (not needed), the others are offered decoded, timed by their arrival; every frame
    is counted once (offered, skipped or not needed)."""
    cv2 = pytest.importorskip('cv2')
    from reader.video.live import LiveVideo
    jpeg = cv2.imencode('.jpg', np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
    with MjpegServer([jpeg] * 60, fps=60) as server:
        video = LiveVideo(server.url, 5, 2, rate=30)
        offered = []
        while (frame := video.next_frame()) is not None:
            offered.append(frame)
        video.close()
    assert video.arrived == 60
    # about half (more where a busy machine delivers a burst of frames at one time)
    assert 0.35 <= video.not_needed / video.arrived <= 0.75, video.not_needed
    assert len(offered) + video.skipped + video.not_needed == video.arrived
    assert offered[0].image.shape == (48, 64, 3)
    steps = np.diff([frame.time for frame in offered])
    assert np.median(steps) == pytest.approx(1 / 30, abs=0.01), steps
