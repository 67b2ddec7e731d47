"""Live video: a camera (`0`, `1`, ...) or a stream address (rtsp://, http(s)://, e.g. an IP
camera's MJPEG stream), read by OpenCV in a thread of its own that keeps only the newest frame.

Whoever takes frames gets the newest one each time; frames that arrived meanwhile are skipped
(counted), never queued, so that what is processed stays close to now however slow the
processing (a Motion JPEG stream's frames are not even decoded unless taken). Each frame is
timed by its arrival on this machine's monotonic clock (a stream's header often gives no rate
or a wrong one: OpenCV reports 25 for MJPEG over HTTP); a frame the model's clock does not
take (timing.FrameClock: every other frame of a 60 frames/s camera at 30) is only grabbed,
never offered (counted as not needed, not as skipped)."""
import re
import threading
import time
from dataclasses import dataclass, replace

from .frames import VideoError, import_cv2, native_stderr_muted
from .timing import DEFAULT_FRAME_RATE, FrameClock

STREAM = re.compile(r'^(rtsps?|https?)://', re.IGNORECASE)
MIN_HEIGHT = 540   # a live Motion JPEG stream is decoded at a reduced size down to this height


def is_live(source):
    """A camera index or a stream address (anything else is a file)."""
    text = str(source).strip()
    return text.isdigit() or bool(STREAM.match(text))


def describe(source):
    text = str(source).strip()
    return f'camera {text}' if text.isdigit() else text


def reduced_decoding(cv2, height):
    """The imdecode flag that decodes a JPEG of this height at 1/2, 1/4 or 1/8 of its size
    (the decoder's own scaling) while at least MIN_HEIGHT lines remain: the pose models look at
    people through 224- and 256-pixel crops, so a 1080p frame at half size shows them as well,
    and is decoded in 55-75% of the time (5.8-7.3 against 9.5-10.8 ms measured here)."""
    for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                         (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if height / factor >= MIN_HEIGHT:
            return flag
    return cv2.IMREAD_COLOR


@dataclass
class LiveFrame:
    time: float       # seconds since the first frame arrived
    arrival: float    # time.monotonic() of its arrival
    index: int        # frames arrived before it
    image: object     # RGB uint8 (height, width, 3) once taken


class LiveVideo:
    """A camera or stream being read. `next_frame()` gives the newest frame not taken yet,
    waiting for one; None once the stream has ended (`ended` says why; a frame not taken by
    then is skipped). A thread of its own decodes and colour-converts the newest frame while
    the caller works on the one before (one frame ahead, no more), so that decoding overlaps
    the pose models instead of adding to their time."""

    def __init__(self, source, open_timeout, read_timeout, rate=DEFAULT_FRAME_RATE):
        """`open_timeout`: seconds to wait for the first frame (then an error);
        `read_timeout`: a stream silent this long has stopped; `rate`: the model's frame rate
        (the frames its clock takes are offered)."""
        self.cv2 = import_cv2()
        self.source, self.name = str(source).strip(), describe(source)
        self.read_timeout = read_timeout
        self.capture = self._open(open_timeout)
        self.packets = self._read_packets()
        self.reduced = self.cv2.IMREAD_COLOR
        with native_stderr_muted():
            ok, first = self._read()
            image = self._decoded(first) if ok else None
            if image is not None and self.packets:
                self.reduced = reduced_decoding(self.cv2, image.shape[0])
                image = self._decoded(first)
        if image is None:
            self.capture.release()
            raise VideoError(f'{self.name}: no frame arrived within {open_timeout:g} s (a '
                             'stream that sends nothing, or a camera that gives no picture)')
        self.height, self.width = image.shape[:2]
        self.fps = self.capture.get(self.cv2.CAP_PROP_FPS) or 0.0
        self.ended, self.arrived, self.taken, self.skipped = None, 0, -1, 0
        self.not_needed = 0
        self.first_arrival = self.last_arrival = None
        self.clock = FrameClock(rate)
        self.newest = self.decoded = None
        self.decoding = False     # the decoder is at work on the frame it took last
        self.condition = threading.Condition()
        self.stopping = False
        self._store(first, time.monotonic())
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.decoder = threading.Thread(target=self._decode_ahead, daemon=True)
        self.decoder.start()

    def _open(self, open_timeout):
        cv2 = self.cv2
        milliseconds = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000),
                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000)]
        with native_stderr_muted():
            if self.source.isdigit():
                capture = cv2.VideoCapture(int(self.source))
            else:
                capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, milliseconds)
        if not capture.isOpened():
            capture.release()
            raise VideoError(f'{self.name}: ' + (
                'no such camera, or it is in use' if self.source.isdigit() else
                f'cannot open the stream within {open_timeout:g} s (nobody serves that '
                'address, or it is not a video stream)'))
        return capture

    def _read_packets(self):
        """A Motion JPEG stream is read as its JPEG packets, each decoded only if taken: the
        reader thread then keeps up with any stream whatever the CPU does (decoding every
        1080p frame takes a core's fair share on a busy machine)."""
        cv2 = self.cv2
        fourcc = int(self.capture.get(cv2.CAP_PROP_FOURCC) or 0).to_bytes(4, 'little')
        return (not self.source.isdigit() and fourcc == b'MJPG'
                and self.capture.set(cv2.CAP_PROP_FORMAT, -1))

    def _decoded(self, data):
        """A BGR frame from what the reader read (a decoded frame, or a JPEG packet)."""
        if not self.packets:
            return data
        return self.cv2.imdecode(data.reshape(-1), self.reduced)

    def _read(self):
        # FFmpeg's complaints go where the caller sends stderr (video_pipeline mutes it)
        return self.capture.read()

    def _grab_needed(self):
        """Grabs the next frame: (True, (arrival, image or packet)) when the model's clock
        takes it, (True, None) when not (not retrieved), (False, ...) once the stream ended."""
        if not self.capture.grab():
            return False, None
        now = time.monotonic()
        if self.clock.takes(now - self.first_arrival):
            ok, image = self.capture.retrieve()
            return ok, (now, image)
        with self.condition:
            self.arrived += 1
            self.not_needed += 1
            self.last_arrival = now
        return True, None

    def _store(self, image, now):
        with self.condition:
            if self.first_arrival is None:
                self.first_arrival = now
                self.clock.takes(0.0)
            self.last_arrival = now
            if self.newest is not None and self.newest.index > self.taken:
                self.skipped += 1
            self.newest = LiveFrame(now - self.first_arrival, now, self.arrived, image)
            self.arrived += 1
            self.condition.notify_all()

    def _run(self):
        while not self.stopping:
            ok, image = self._grab_needed()
            if not ok:
                break
            if image is not None:
                self._store(image[1], image[0])
        with self.condition:
            silent = time.monotonic() - self.last_arrival
            self.ended = 'stopped here' if self.stopping else (
                f'no frame for {silent:.0f} s' if silent >= self.read_timeout * 0.9 else
                'the stream ended (connection closed)')
            self.condition.notify_all()
        self.capture.release()

    def _decode_ahead(self):
        """The newest frame decoded and converted, once the caller has taken the one before:
        only the frames taken are decoded."""
        while True:
            with self.condition:
                while self.ended is None and not self.stopping and (
                        self.decoded is not None or self.newest.index <= self.taken):
                    self.condition.wait(0.5)
                if self.ended is not None or self.stopping:
                    return
                self.taken, self.decoding = self.newest.index, True
                frame = self.newest
            image = None
            try:
                image = self._decoded(frame.image)
                if image is not None:   # else a corrupt JPEG: the next one
                    image = self.cv2.cvtColor(image, self.cv2.COLOR_BGR2RGB)
            finally:
                with self.condition:
                    self.decoding = False
                    if image is not None:
                        self.decoded = replace(frame, image=image)
                    self.condition.notify_all()

    def next_frame(self):
        with self.condition:
            while self.decoding or (self.decoded is None and self.ended is None):
                self.condition.wait(0.5)
            if self.ended is not None:   # what is left is not processed: results now
                self.skipped += (self.newest.index > self.taken) + (self.decoded is not None)
                self.decoded = None
                return None
            frame, self.decoded = self.decoded, None
            self.condition.notify_all()
        return frame

    def close(self):
        self.stopping = True
        with self.condition:
            self.condition.notify_all()
        self.thread.join(timeout=self.read_timeout + 1)
        self.decoder.join(timeout=self.read_timeout + 1)
