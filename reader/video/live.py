"""Live video: a camera (`0`, `1`, ...) or a stream address (rtsp://, http(s)://, e.g. an IP
camera's MJPEG stream), read by OpenCV in a thread of its own that keeps only the newest frame.

Whoever takes frames gets the newest one each time; frames that arrived meanwhile are skipped
(counted), never queued, so that what is processed stays close to now however slow the
processing (a Motion JPEG stream's frames are not even decoded unless taken). Each frame is
timed by its arrival on this machine's monotonic clock (a stream's
header often gives no rate or a wrong one: OpenCV reports 25 for MJPEG over HTTP)."""
import re
import threading
import time
from dataclasses import dataclass, replace

from .frames import VideoError, import_cv2, native_stderr_muted

STREAM = re.compile(r'^(rtsps?|https?)://', re.IGNORECASE)


def is_live(source):
    """A camera index or a stream address (anything else is a file)."""
    text = str(source).strip()
    return text.isdigit() or bool(STREAM.match(text))


def describe(source):
    text = str(source).strip()
    return f'camera {text}' if text.isdigit() else text


@dataclass
class LiveFrame:
    time: float       # seconds since the first frame arrived
    arrival: float    # time.monotonic() of its arrival
    index: int        # frames arrived before it
    image: object     # RGB uint8 (height, width, 3) once taken


class LiveVideo:
    """A camera or stream being read. `next_frame()` gives the newest frame not taken yet,
    waiting for one; None once the stream has ended (`ended` says why; a frame not taken by
    then is skipped)."""

    def __init__(self, source, open_timeout, read_timeout):
        """`open_timeout`: seconds to wait for the first frame (then an error);
        `read_timeout`: a stream silent this long has stopped."""
        self.cv2 = import_cv2()
        self.source, self.name = str(source).strip(), describe(source)
        self.read_timeout = read_timeout
        self.capture = self._open(open_timeout)
        self.packets = self._read_packets()
        with native_stderr_muted():
            ok, first = self._read()
            image = self._decoded(first) if ok else None
        if image is None:
            self.capture.release()
            raise VideoError(f'{self.name}: no frame arrived within {open_timeout:g} s (a '
                             'stream that sends nothing, or a camera that gives no picture)')
        self.height, self.width = image.shape[:2]
        self.fps = self.capture.get(self.cv2.CAP_PROP_FPS) or 0.0
        self.ended, self.arrived, self.taken, self.skipped = None, 0, -1, 0
        self.first_arrival = None
        self.newest = None
        self.condition = threading.Condition()
        self.stopping = False
        self._store(first)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

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
        return self.cv2.imdecode(data.reshape(-1), self.cv2.IMREAD_COLOR)

    def _read(self):
        # FFmpeg's complaints go where the caller sends stderr (video_pipeline mutes it)
        return self.capture.read()

    def _store(self, image):
        now = time.monotonic()
        with self.condition:
            if self.first_arrival is None:
                self.first_arrival = now
            if self.newest is not None and self.newest.index > self.taken:
                self.skipped += 1
            self.newest = LiveFrame(now - self.first_arrival, now, self.arrived, image)
            self.arrived += 1
            self.condition.notify_all()

    def _run(self):
        while not self.stopping:
            ok, image = self._read()
            if not ok:
                break
            self._store(image)
        with self.condition:
            silent = time.monotonic() - self.newest.arrival
            self.ended = 'stopped here' if self.stopping else (
                f'no frame for {silent:.0f} s' if silent >= self.read_timeout * 0.9 else
                'the stream ended (connection closed)')
            self.condition.notify_all()
        self.capture.release()

    def next_frame(self):
        with self.condition:
            while self.newest.index <= self.taken and self.ended is None:
                self.condition.wait(0.5)
            if self.ended is not None:   # what is left is not processed: results now
                self.skipped += self.newest.index > self.taken
                return None
            self.taken = self.newest.index
            frame = self.newest
        # decoded and converted here, for the frames taken only
        image = self._decoded(frame.image)
        if image is None:   # a corrupt JPEG: the next one
            return self.next_frame()
        return replace(frame, image=self.cv2.cvtColor(image, self.cv2.COLOR_BGR2RGB))

    def close(self):
        self.stopping = True
        self.thread.join(timeout=self.read_timeout + 1)
