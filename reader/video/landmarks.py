"""Up to MAX_TRACKED people's 33 MediaPipe pose landmarks per frame of a video, with stable
identities (tracking.py), from the pose models inside the MediaPipe package run through LiteRT
(pose_models.py); each frame with its time stamp.

Landmarks (MediaPipe's documentation of the pose landmarker):
- world: metres, origin at the centre between the hips, x towards the image's right, y down,
  z away from the camera (smaller is closer);
- image: x and y in pixels;
- visibility: the likelihood that the landmark is visible in the image.
"""
import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .frames import INSTALL, VideoError, VideoSetupError, native_stderr_muted, open_frames
from .pose_models import DETECTOR, LANDMARK_MODEL, NUM_LANDMARKS, PoseModels, import_litert
from .timing import FrameClock, frames_at, tick_times

# Prominence: how long a person is in view, times how tall (in frame heights) plus how fast
# their landmarks move (in body heights per second, weighted by this).
MOTION_WEIGHT = 0.5
MIN_FRAMES_SEEN = 3


@dataclass
class VideoPoses:
    """Every tracked person's landmarks in every frame kept; zeros where a person is absent.
    Person p is the same person in every frame."""
    path: Path                # the video, or the camera / stream address
    fps: float                # the frame rate the container states (DEFAULT_FPS when none)
    img_shape: tuple          # (height, width) in pixels
    times: np.ndarray         # (T,) float64 seconds from the first decoded frame
    frame_index: np.ndarray   # (T,) int: the decoded frame each row is
    world: np.ndarray         # (P, T, 33, 3) float32, metres, MediaPipe's world axes
    image: np.ndarray         # (P, T, 33, 2) float32, pixels
    visibility: np.ndarray    # (P, T, 33) float32
    found: np.ndarray         # (P, T) bool: that person in that frame
    frames_read: int = None   # the frames decoded; None: the rows are every frame

    @property
    def num_frames(self):
        return len(self.times)

    @property
    def video_frames(self):
        """The frames of the video read (its rows are those the pose models ran on)."""
        return self.num_frames if self.frames_read is None else self.frames_read

    @property
    def num_people(self):
        return len(self.found)

    @property
    def anyone(self):
        """(T,) bool: someone found in that frame."""
        return self.found.any(axis=0)

    def rows(self, rows):
        """These frames (row indices) only."""
        rows = np.asarray(rows, int)
        return replace(self, times=self.times[rows], frame_index=self.frame_index[rows],
                       world=self.world[:, rows], image=self.image[:, rows],
                       visibility=self.visibility[:, rows], found=self.found[:, rows])

    def people(self, persons):
        """These people (person indices) only, in this order."""
        persons = list(persons)
        return replace(self, world=self.world[persons], image=self.image[persons],
                       visibility=self.visibility[persons], found=self.found[persons])

    def with_nobody(self):
        """One person, absent from every frame."""
        frames = self.num_frames
        return replace(self, world=np.zeros((1, frames, NUM_LANDMARKS, 3), np.float32),
                       image=np.zeros((1, frames, NUM_LANDMARKS, 2), np.float32),
                       visibility=np.zeros((1, frames, NUM_LANDMARKS), np.float32),
                       found=np.zeros((1, frames), bool))

    def at_rate(self, rate):
        """The poses at `rate` frames/s on the video's own clock (timing.py)."""
        return self.at_times(tick_times(self.times, rate), rate)

    def at_times(self, ticks, rate):
        """The poses at these times (seconds): each the latest frame's by then, interpolated
        towards the next frame's where both show the person (timing.frames_at)."""
        rows, following, weight = frames_at(self.times, ticks, rate)
        both = self.found[:, rows] & self.found[:, following]
        blend = np.where(both, weight, 0.0).astype(np.float32)    # (P, K)

        def mixed(values):
            shape = blend.shape + (1,) * (values.ndim - 2)
            return (values[:, rows] * (1 - blend.reshape(shape)) +
                    values[:, following] * blend.reshape(shape)).astype(values.dtype)
        return replace(self, times=np.asarray(ticks, np.float64),
                       frame_index=self.frame_index[np.where(weight < 0.5, rows, following)],
                       world=mixed(self.world), image=mixed(self.image),
                       visibility=mixed(self.visibility), found=self.found[:, rows])

    def prominent(self, keep):
        """Indices of the `keep` most prominent people seen (largest and most moving), most
        prominent first; people never found are left out."""
        scores = [prominence(self, p) for p in range(self.num_people)]
        order = [p for p in np.argsort(scores, kind='stable')[::-1] if self.found[p].any()]
        return order[:keep]


def prominence(poses, person):
    found = poses.found[person]
    if not found.any():
        return 0.0
    image = poses.image[person][found]
    heights = np.ptp(image[..., 1], axis=1)
    size = float(np.median(heights)) / poses.img_shape[0]
    motion = 0.0
    if len(image) > 1:
        step = np.linalg.norm(np.diff(image, axis=0), axis=-1).mean(axis=1)
        seconds = np.maximum(np.diff(poses.times[found]), 1e-3)
        motion = float(np.median(step / seconds / np.maximum(heights[1:], 1)))
    return float(found.mean()) * (size + MOTION_WEIGHT * motion)


class PoseRecorder:
    """Frames' people ({identity: pose_models.Pose}) as they come, into VideoPoses."""

    def __init__(self, path, fps, img_shape):
        self.path, self.fps, self.img_shape = path, fps, img_shape
        self.times, self.frame_index, self.frames = [], [], []
        self.identities = {}   # the identities seen, in order of appearance
        self.frames_read = None   # set when frames were read that are not recorded

    def add(self, time, frame_index, people):
        self.times.append(time)
        self.frame_index.append(frame_index)
        self.frames.append(people)
        for identity in people:
            self.identities.setdefault(identity, None)

    def poses(self, start=0):
        """VideoPoses of the frames recorded from row `start` on, of the people found in at
        least MIN_FRAMES_SEEN of them (a detection that the landmark model follows for a frame
        or two is no one)."""
        frames = self.frames[start:]
        counts = {}
        for people in frames:
            for identity in people:
                counts[identity] = counts.get(identity, 0) + 1
        persons = {identity: index for index, identity in enumerate(
            i for i in self.identities if counts.get(i, 0) >= MIN_FRAMES_SEEN)}
        shape = (len(persons), len(frames))
        world = np.zeros(shape + (NUM_LANDMARKS, 3), np.float32)
        image = np.zeros(shape + (NUM_LANDMARKS, 2), np.float32)
        visibility = np.zeros(shape + (NUM_LANDMARKS,), np.float32)
        found = np.zeros(shape, bool)
        for row, people in enumerate(frames):
            for identity, pose in people.items():
                if identity not in persons:
                    continue
                person = persons[identity]
                world[person, row], image[person, row] = pose.world, pose.image
                visibility[person, row], found[person, row] = pose.visibility, True
        return VideoPoses(Path(str(self.path)), self.fps, tuple(self.img_shape),
                          np.array(self.times[start:], np.float64),
                          np.array(self.frame_index[start:], int), world, image, visibility,
                          found, self.frames_read)


def video_poses(path, progress=None, threads=None, rate=None, models=None):
    """The VideoPoses of a video file; VideoError when it cannot be decoded or shows nobody,
    VideoSetupError when MediaPipe or LiteRT is missing. `rate`: the frame rate the poses will
    be taken at (VideoPoses.at_rate): the pose models run only on the frames its clock takes
    (timing.FrameClock: every other frame of a 60 frames/s video at 30), every frame without
    it. `progress(frames_read)` is called per frame; `threads`: the pose models'
    (pose_models.default_threads() by default); `models`: pose_models.PoseModels to run (loaded
    here by default)."""
    from .tracking import PeopleTracker
    import_mediapipe()
    with native_stderr_muted():
        info, frames = open_frames(path, FrameClock(rate).takes if rate else None)
        tracker = PeopleTracker(models or PoseModels(threads))
        recorder = PoseRecorder(Path(path), info.fps, (info.height, info.width))
        for index, time, frame in frames:
            if frame is not None:
                recorder.add(time, index, tracker.step(frame, time))
            recorder.frames_read = index + 1
            if progress:
                progress(index + 1)
    poses = recorder.poses()
    if not poses.num_people:
        raise VideoError(f'{path}: no person found in any of its {poses.video_frames} frames')
    return poses


def import_mediapipe():
    """The folder of the installed mediapipe package (its pose models are read from it; its
    Python bindings are not needed), with LiteRT's interpreter importable; VideoSetupError when
    either is missing."""
    try:
        spec = importlib.util.find_spec('mediapipe')
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise VideoSetupError(f'reading videos needs MediaPipe\'s pose models (no mediapipe '
                              f'package): {INSTALL}')
    root = Path(spec.origin).parent
    for model in (DETECTOR, LANDMARK_MODEL):
        if not (root / model).is_file():
            raise VideoSetupError(f'the mediapipe package in {root} does not ship its pose '
                                  f'model ({model}): {INSTALL}')
    import_litert()
    return root
