"""A camera or stream, as it plays, into window results (deploy/video_pipeline.py's live path).

The work is shared by threads, so that the pose models never wait for the rest: LiveVideo's
reader (frames as they arrive, those the model's clock takes) and decoder (the newest frame
decoded while the one before is tracked), this loop (people tracked, windows cut as their
last frame arrives, --save-video fed) and a scorer (the model on the newest window ready). When
the CPU falls behind, frames are skipped by time stamp (only the newest waits) and so are
windows (one waits for the scorer; a newer one replaces it), both counted, and each window's
delay from its last frame's arrival to its result is reported. The end of the stream or Ctrl-C
ends it with the summary of what was seen. Paddle Inference holds Python's GIL while it runs on
the CPU (a third of a second a window here, in which no other thread would run), so there the
model runs in a process of its own (ModelProcess)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from reader.video import VideoError
from reader.video.frames import native_stderr_muted

from .video_drawing import LiveRecording
from .video_results import clip_entry
from .video_windows import ClipTracker, check_length

REPO_DIR = Path(__file__).resolve().parents[1]


class WindowScorer:
    """`score(windows)` run in a thread of its own: `submit(windows)` hands over the windows
    ready now and returns at once (of them only the newest is scored; it replaces one still
    waiting; those left out are counted in `skipped`); `close()` waits for the window waiting,
    and raises what scoring raised."""

    def __init__(self, score):
        self.score, self.waiting, self.skipped = score, None, 0
        self.closing, self.error = False, None
        self.condition = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def submit(self, windows):
        if self.error is not None:
            self.close()
        if not windows:
            return
        with self.condition:
            self.skipped += len(windows) - 1 + (self.waiting is not None)
            self.waiting = windows[-1]
            self.condition.notify_all()

    def _run(self):
        while True:
            with self.condition:
                while self.waiting is None and not self.closing:
                    self.condition.wait()
                if self.waiting is None:
                    return
                window, self.waiting = self.waiting, None
            try:
                self.score([window])
            except BaseException as e:   # noqa: BLE001 - raised in the caller by close()
                self.error = e
                return

    def close(self):
        with self.condition:
            self.closing = True
            self.condition.notify_all()
        self.thread.join()
        if self.error is not None:
            raise self.error


class ModelProcess:
    """The runner that `recipe()` builds (deploy.runtimes.make_runner's `runner.recipe`), run in
    a Python process of its own (started as `python -m deploy.model_server`, so that a script
    without a `__main__` guard is not imported again), which builds it and runs it once on a
    batch of `warm_up_shape` while the caller goes on (`ready()` waits for that): called as the
    runner, the calling thread waits without the GIL."""

    def __init__(self, recipe, warm_up_shape):
        ours, theirs = socket.socketpair()
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO_DIR)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'deploy.model_server', str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=environment, stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(ours.detach())
        self.connection.send((recipe, warm_up_shape))
        self.started = False

    def ready(self):
        """Waits until the model has been built and run once."""
        if not self.started:
            self._result()
            self.started = True

    def __call__(self, batch):
        self.connection.send(np.asarray(batch, np.float32))
        return self._result()

    def _result(self):
        try:
            result = self.connection.recv()
        except EOFError:
            raise RuntimeError(f'the model\'s process ended (exit code '
                               f'{self.process.poll()})') from None
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self):
        self.connection.close()   # the process ends when it reads the end
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:   # still starting
            self.process.kill()
            self.process.wait()


def model_process(runner, warm_up_shape):
    """The ModelProcess of a runner that can be built again (`runner.recipe`), started on first
    use and kept for the runner's next videos (closed with it); None for other runners."""
    recipe = getattr(runner, 'recipe', None)
    if recipe is None:
        return None
    if getattr(runner, 'model_process', None) is None:
        runner.model_process = ModelProcess(recipe, warm_up_shape)
        weakref.finalize(runner, runner.model_process.close)
    return runner.model_process


def serve_model(descriptor):
    """In the model's process: logits (or the exception raised) for each batch received."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the reading process's to handle
    connection = Connection(descriptor)
    try:
        recipe, warm_up_shape = connection.recv()
    except EOFError:
        return
    try:
        with native_stderr_muted():
            runner = recipe()
            runner(np.zeros(warm_up_shape, np.float32))
    except Exception as e:   # noqa: BLE001 - raised in the caller
        connection.send(e)
        return
    connection.send('ready')
    while True:
        try:
            batch = connection.recv()
        except EOFError:
            return
        try:
            connection.send(np.asarray(runner(batch)))
        except Exception as e:   # noqa: BLE001 - raised in the caller
            connection.send(e)


def live_entry(video, models, deploy, stride, score, on_window=None, progress=None,
               save_video=None):
    """The entry of a reader.video.live.LiveVideo read until it ends or Ctrl-C; `score(windows)`
    gives the windows' entries (with their delays)."""
    clip = ClipTracker(video.name, video.fps, (video.height, video.width), deploy, stride,
                       growing=True, models=models)
    recording = save_video and LiveRecording(save_video, clip.rate, video.width, video.height)
    entries = []

    def scored(windows):
        for entry in score(windows):
            entries.append(entry)
            if recording:
                recording.window(entry)
            if on_window:
                on_window(entry)
    scorer = WindowScorer(scored)
    interrupted = False
    try:
        with native_stderr_muted():
            while (frame := video.next_frame()) is not None:
                people = clip.add(frame.time, frame.index, frame.image, frame.arrival)
                if recording:
                    recording.add(frame.image, frame.time,
                                  {identity: pose.image for identity, pose in people.items()})
                if progress:
                    progress(len(clip.arrivals))
                scorer.submit(clip.windows())
    except KeyboardInterrupt:
        interrupted = True
    finally:
        video.close()
        scorer.close()
        if recording:
            recording.close(video.newest.time)
    if not clip.poses().num_people:
        raise VideoError(f'{video.name}: no person found in the {len(clip.arrivals)} frames '
                         'processed')
    check_length(video.name, clip.recorder.times, clip.rate)
    scored(clip.windows(ended=True))
    live = {'frames_arrived': video.arrived, 'frames_not_needed': video.not_needed,
            'frames_skipped': video.skipped, 'windows_skipped': scorer.skipped,
            'ended': 'interrupted (Ctrl-C)' if interrupted else video.ended}
    entry = clip_entry(clip.poses(), entries, deploy, live)
    if recording:
        entry['saved'] = str(recording.path)
    return entry
