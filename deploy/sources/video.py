"""Videos for infer.py --video: files, folders of them, camera indices (`0`) and stream
addresses (rtsp://, http(s)://). Each is run through deploy/video_pipeline.py and reported as a
whole (deploy/video_results.py): a video is many samples, its windows."""
import re
from pathlib import Path

from reader.video import VideoSetupError
from reader.video.annotation import LAYOUTS
from reader.video.frames import VIDEO_SUFFIXES
from reader.video.landmarks import import_mediapipe
from reader.video.live import is_live
from ..messages import InferError
from ..video_pipeline import STREAM_TIMEOUT_S
from .paths import collect_files


def check_video_model(deploy):
    layout = (deploy['layout'], deploy['keypoint_dim'])
    if layout not in LAYOUTS:
        raise InferError(f'videos give 3D ntu or 2D coco poses, but this model takes '
                         f'{deploy["keypoint_dim"]}D poses in the {deploy["layout"]} layout')


def video_sources(given, failures):
    """Cameras and streams as given; files as given and the videos (by suffix) of folders, each
    once, in order."""
    sources = []
    for item in given:
        if is_live(item):
            sources.append(str(item).strip())
        else:
            sources += collect_files([item], failures,
                                     lambda path: path.suffix.lower() in VIDEO_SUFFIXES,
                                     'videos')
    return sources


def open_videos(given, deploy, failures, stride=30, stream_timeout=STREAM_TIMEOUT_S,
                save_video=None):
    """Checks before Paddle loads; the sources to read, in order: `given` files, folders,
    camera indices and stream addresses; windows every `stride` frames; a camera or stream
    silent `stream_timeout` seconds has stopped; `save_video`: where they are drawn (one file
    or a folder)."""
    check_video_model(deploy)
    if stride < 1:
        raise InferError(f'--stride must be at least 1, got {stride}')
    sources = video_sources(given, failures)
    if not sources and not failures:
        raise InferError(f'no videos in {" ".join(map(str, given))}')
    if stream_timeout <= 0:
        raise InferError(f'--stream-timeout must be positive, got {stream_timeout:g}')
    if save_video and Path(save_video).suffix and len(sources) > 1:
        raise InferError(f'--save-video {save_video} names one file but {len(sources)} '
                         'videos are given: name a folder')
    if sources:
        try:
            import_mediapipe()
        except VideoSetupError as e:
            raise InferError(str(e)) from None
    return sources


def source_name(source, taken):
    """How a video is named in the output: a file by its stem (its path when another has that
    stem), a camera or stream as given."""
    if isinstance(source, Path):
        return source.stem if source.stem not in taken else str(source)
    return str(source)


def file_name(name):
    """A video's name as a file name (a stream address has slashes and colons)."""
    return re.sub(r'[^\w.-]+', '_', name).strip('_') or 'video'
