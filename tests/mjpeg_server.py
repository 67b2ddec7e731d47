"""A small MJPEG-over-HTTP server on 127.0.0.1 for the live-video tests and benchmark: it
serves a clip's frames to one client in real time (multipart/x-mixed-replace, as IP cameras
serve MJPEG), and can stop sending mid-way or never send at all. It stops by itself: after the
clip, after `stall_s` of silence, or when the test closes it."""
import socket
import threading
import time

BOUNDARY = b'frame'


def jpeg_frames(path, loops=1, limit=None):
    """The clip's frames (BGR as decoded) as JPEG bytes, `loops` times over."""
    import cv2
    capture, frames = cv2.VideoCapture(str(path)), []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.imencode('.jpg', frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    return frames * loops


class MjpegServer:
    """with MjpegServer(frames, fps) as server: server.url is the stream; server.started and
    server.ended are the time.monotonic() of its first frame and of its close."""

    def __init__(self, frames, fps=30.0, stop_after=None, silent=False, stall_s=10.0):
        self.frames, self.fps, self.stop_after = frames, fps, stop_after
        self.silent, self.stall_s = silent, stall_s
        self.started = self.ended = None
        self.closing = threading.Event()
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(120)
        self.url = f'http://127.0.0.1:{self.listener.getsockname()[1]}/video.mjpg'
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closing.set()
        self.thread.join(timeout=30)
        self.listener.close()

    def _serve(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        with client:
            client.recv(65536)   # the request
            if self.silent:
                self.closing.wait(self.stall_s)
                return
            client.sendall(b'HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; '
                           b'boundary=' + BOUNDARY + b'\r\n\r\n')
            self._send_frames(client)
            if self.stop_after is not None:   # stopped mid-way: silent, connection open
                self.closing.wait(self.stall_s)
        self.ended = time.monotonic()

    def _send_frames(self, client):
        self.started = time.monotonic()
        for index, jpeg in enumerate(self.frames):
            if index == self.stop_after or self.closing.is_set():
                return
            wait = self.started + index / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                client.sendall(b'--' + BOUNDARY + b'\r\nContent-Type: image/jpeg\r\n'
                               b'Content-Length: %d\r\n\r\n' % len(jpeg) + jpeg + b'\r\n')
            except OSError:
                return
