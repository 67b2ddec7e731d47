"""One person's 33 MediaPipe pose landmarks per frame of a video, from the pose models inside
the MediaPipe package.

The package (0.10.21, requirements-video.txt) ships its pose detector and full landmark model
as bare TFLite files for its legacy `solutions` API. Its Tasks API (PoseLandmarker, the one
that tracks across video frames and is fed numpy images) wants them bundled in a `.task` file
whose models carry their input normalisation as TFLite metadata, and downloads such a file
otherwise. The bundle is built here from the shipped files, with the normalisation the legacy
graphs apply (detector input in [-1, 1], landmark model input in [0, 1]), once per process
(about a second), kept in memory: nothing is downloaded.

Landmarks (MediaPipe's documentation of the pose landmarker):
- world: metres, origin at the centre between the hips, x towards the image's right, y down,
  z away from the camera (smaller is closer);
- image: x and y as fractions of the image width and height (turned into pixels here);
- visibility: the likelihood that the landmark is visible in the image.

One person: in VIDEO mode the landmarker runs its detector only while it tracks nobody, so with
num_poses=2 it still follows the first person it found (measured on a clip of two people
hugging: one person in 71 of 72 frames); detecting on every frame finds the second person in
only some frames and loses the frame-to-frame identity. So the most prominent person is kept.
"""
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .frames import INSTALL, VideoError, VideoSetupError, native_stderr_muted, open_video

NUM_LANDMARKS = 33
DETECTOR = 'modules/pose_detection/pose_detection.tflite'
LANDMARK_MODEL = 'modules/pose_landmark/pose_landmark_full.tflite'
# (mean, std) taking 0-255 pixels to each model's input range, as the legacy graphs do.
DETECTOR_NORM = (127.5, 127.5)      # [-1, 1]
LANDMARK_NORM = (0.0, 255.0)        # [0, 1]


@dataclass
class VideoPoses:
    """One person's landmarks in every decoded frame; zeros where nobody was found."""
    path: Path
    fps: float
    img_shape: tuple          # (height, width) in pixels
    world: np.ndarray         # (T, 33, 3) float32, metres, MediaPipe's world axes
    image: np.ndarray         # (T, 33, 2) float32, pixels
    visibility: np.ndarray    # (T, 33) float32
    found: np.ndarray         # (T,) bool: a person in that frame

    @property
    def num_frames(self):
        return len(self.found)


def video_poses(path, progress=None):
    """The VideoPoses of a video file; VideoError when it cannot be decoded or shows nobody,
    VideoSetupError when MediaPipe is missing. `progress(frames_done)` is called per frame."""
    mp, vision = import_mediapipe()
    with native_stderr_muted():
        info, frames = open_video(path)
        landmarker = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(model_asset_buffer=model_bundle()),
            running_mode=vision.RunningMode.VIDEO, num_poses=1))
        with landmarker:
            world, image, visibility, found = _track(mp, landmarker, info, frames, progress)
    if not any(found):
        raise VideoError(f'{path}: no person found in any of its {len(found)} frames')
    return VideoPoses(Path(path), info.fps, (info.height, info.width),
                      np.stack(world), np.stack(image), np.stack(visibility),
                      np.array(found))


def _track(mp, landmarker, info, frames, progress):
    """Per frame: world landmarks, pixel landmarks, visibility and whether a person was found."""
    world, image, visibility, found = [], [], [], []
    for index, frame in enumerate(frames):
        result = landmarker.detect_for_video(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=frame),
            int(round(index * 1000 / info.fps)))
        person = _first_person(result, info.width, info.height)
        for values, collected in zip(person, (world, image, visibility)):
            collected.append(values)
        found.append(bool(result.pose_world_landmarks))
        if progress:
            progress(index + 1)
    return world, image, visibility, found


def _first_person(result, width, height):
    """(world (33, 3), image pixels (33, 2), visibility (33,)) of the result's first pose,
    zeros when it has none."""
    if not result.pose_world_landmarks:
        return (np.zeros((NUM_LANDMARKS, 3), np.float32), np.zeros((NUM_LANDMARKS, 2), np.float32),
                np.zeros(NUM_LANDMARKS, np.float32))
    world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]], np.float32)
    image = np.array([(p.x * width, p.y * height) for p in result.pose_landmarks[0]], np.float32)
    visibility = np.array([p.visibility for p in result.pose_landmarks[0]], np.float32)
    return world, image, visibility


def import_mediapipe():
    """(mediapipe, mediapipe.tasks.python.vision); VideoSetupError when either is missing or
    its protobuf is one it cannot run with."""
    try:
        import mediapipe as mp
        from google import protobuf
        from mediapipe.tasks.python import vision
    except ImportError as e:
        raise VideoSetupError(f'reading videos needs MediaPipe ({e}): {INSTALL}') from None
    if not (Path(mp.__file__).parent / LANDMARK_MODEL).is_file():
        raise VideoSetupError(f'mediapipe {mp.__version__} does not ship its pose model '
                              f'({LANDMARK_MODEL}): {INSTALL}')
    if int(protobuf.__version__.split('.')[0]) >= 5:
        raise VideoSetupError(f'mediapipe {mp.__version__} needs protobuf 4, found '
                              f'{protobuf.__version__}: {INSTALL}')
    return mp, vision


@functools.lru_cache(maxsize=1)
def model_bundle():
    """The PoseLandmarker .task bundle (bytes) of the package's own detector and landmark
    model, each with its input normalisation as metadata."""
    import mediapipe as mp
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import \
        create_model_asset_bundle
    root = Path(mp.__file__).parent

    def with_normalisation(relative_path, mean_std):
        model = bytearray((root / relative_path).read_bytes())
        writer = metadata_writer.MetadataWriter.create(model)
        writer.add_general_info(Path(relative_path).stem)
        writer.add_image_input(norm_mean=[mean_std[0]], norm_std=[mean_std[1]])
        return bytes(writer.populate()[0])

    # The bundle writer wants a file: a temporary one, read back.
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / 'pose_landmarker.task'
        create_model_asset_bundle({
            'pose_detector.tflite': with_normalisation(DETECTOR, DETECTOR_NORM),
            'pose_landmarks_detector.tflite': with_normalisation(LANDMARK_MODEL, LANDMARK_NORM),
        }, str(target))
        return target.read_bytes()
