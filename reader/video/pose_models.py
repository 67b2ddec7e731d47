"""MediaPipe's person detector and pose landmark model (the TFLite files inside the MediaPipe
package), run per person through LiteRT's interpreter (the `ai-edge-litert` package).

MediaPipe's own pose graphs look for a person only while they track nobody, so they follow one
person at most; run here directly, the detector finds every person in a frame and the landmark
model is run on each tracked person's region (tracking.py keeps the identities). What MediaPipe's
graphs do around the models is done the same way (their published .pbtxt settings):

- detector: the frame letterboxed to 224x224, pixels to [-1, 1]; 2254 SSD anchors (strides 8,
  16, 32, 32, 32, fixed size) decode boxes and 4 keypoints (x, y, w, h order, scaled by 224);
  sigmoid scores; weighted non-maximum suppression at IoU 0.3. Keypoint 0 is the hips' centre,
  keypoint 1 a point on the circle around the whole body.
- region of interest: centred on the first point, rotated so the second is straight above it,
  a square of side 2.5 times their distance (2 x the radius, enlarged by 1.25).
- landmark model: that region cropped to 256x256, pixels to [0, 1]; 39 landmarks (x, y, z in
  crop pixels, visibility and presence as logits: sigmoid), a presence score (at least 0.5 for a
  person), 39 world landmarks in metres rotated back by the region's angle. Landmarks 33 and 34
  (hips' centre and body circle) give the region of the next frame.
"""
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .frames import INSTALL, VideoSetupError

DETECTOR = 'modules/pose_detection/pose_detection.tflite'
LANDMARK_MODEL = 'modules/pose_landmark/pose_landmark_full.tflite'
DETECTOR_SIZE, LANDMARK_SIZE = 224, 256
NUM_LANDMARKS = 33
MIN_DETECTION_SCORE = 0.5      # MediaPipe's default min_pose_detection_confidence
MIN_PRESENCE = 0.5             # its pose-presence threshold
NMS_IOU = 0.3
ROI_SCALE = 1.25
MAX_THREADS = 2   # two cores make a landmark call 1.6-1.9 times as fast as one, measured here
# SSD anchors of the detector: (feature map stride, anchors per cell)
ANCHOR_LAYERS = ((8, 2), (16, 2), (32, 6))


@dataclass
class Detection:
    score: float
    box: np.ndarray           # (4,) x0, y0, x1, y1 in pixels
    keypoints: np.ndarray     # (4, 2) pixels


@dataclass
class Region:
    """A rotated square of the frame: centre and side in pixels, rotation in radians."""
    x: float
    y: float
    size: float
    rotation: float

    @classmethod
    def from_points(cls, centre, edge):
        dx, dy = edge[0] - centre[0], edge[1] - centre[1]
        rotation = math.pi / 2 - math.atan2(-dy, dx)
        rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
        return cls(float(centre[0]), float(centre[1]), 2 * math.hypot(dx, dy) * ROI_SCALE,
                   rotation)

    def to_frame(self, points):
        """(N, 2) points in [0, 1] of the region's crop -> (N, 2) frame pixels."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = (np.asarray(points, np.float32) - 0.5) * self.size
        return np.stack([cos * local[:, 0] - sin * local[:, 1] + self.x,
                         sin * local[:, 0] + cos * local[:, 1] + self.y], axis=1)

    def crop_matrix(self, output_size):
        """The 2x3 affine map from crop pixels to frame pixels (cv2's WARP_INVERSE_MAP)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        scale = self.size / output_size
        corner = self.to_frame([[0, 0]])[0]
        return np.float32([[cos * scale, -sin * scale, corner[0]],
                           [sin * scale, cos * scale, corner[1]]])


@dataclass
class Pose:
    """One person's landmarks in one frame."""
    image: np.ndarray         # (33, 2) pixels
    world: np.ndarray         # (33, 3) metres, MediaPipe's world axes
    visibility: np.ndarray    # (33,)
    presence: float
    next_region: Region       # where to look in the next frame

    @property
    def box(self):
        """x0, y0, x1, y1 of the visible landmarks (all of them when none is)."""
        points = self.image[self.visibility > 0.5]
        points = points if len(points) >= 2 else self.image
        return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _anchors():
    centres = []
    for stride, per_cell in ANCHOR_LAYERS:
        cells = DETECTOR_SIZE // stride
        y, x = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(x + 0.5) / cells, (y + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(np.asarray(x, np.float64), -100, 100)))


def box_iou(a, b):
    """IoU of (4,) box a with (N, 4) boxes b."""
    b = np.atleast_2d(b)
    inter = (np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None) *
             np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None))
    area = lambda box: (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def weighted_nms(scores, boxes, keypoints):
    """MediaPipe's weighted non-maximum suppression: each kept detection is the score-weighted
    mean of the detections overlapping it by more than NMS_IOU."""
    order = list(np.argsort(-scores))
    kept = []
    while order:
        overlap = box_iou(boxes[order[0]], boxes[order])
        group = [order[i] for i in np.flatnonzero(overlap > NMS_IOU)] or [order[0]]
        weights = scores[group] / scores[group].sum()
        kept.append(Detection(float(scores[order[0]]), weights @ boxes[group],
                              np.einsum('g,gkc->kc', weights, keypoints[group])))
        order = [i for i in order if i not in group]
    return kept


class PoseModels:
    """The detector and the landmark model in LiteRT interpreters, `threads` each (default:
    default_threads())."""

    def __init__(self, threads=None):
        threads = threads or default_threads()
        import cv2
        self.cv2 = cv2
        interpreter_class = import_litert()
        from .landmarks import import_mediapipe
        root = import_mediapipe()
        self.detector = _loaded(interpreter_class, root / DETECTOR, threads)
        self.landmarker = _loaded(interpreter_class, root / LANDMARK_MODEL, threads)
        self.anchors = _anchors()

    def detect(self, frame):
        """Every person the detector finds in an RGB frame, best first."""
        height, width = frame.shape[:2]
        scale = DETECTOR_SIZE / max(height, width)
        pad = np.float32([(DETECTOR_SIZE - width * scale) / 2, (DETECTOR_SIZE - height * scale) / 2])
        matrix = np.float32([[scale, 0, pad[0]], [0, scale, pad[1]]])
        tensor = self.cv2.warpAffine(frame, matrix, (DETECTOR_SIZE, DETECTOR_SIZE),
                                     flags=self.cv2.INTER_LINEAR,
                                     borderMode=self.cv2.BORDER_CONSTANT, borderValue=0)
        raw, logits = _run(self.detector, tensor.astype(np.float32) / 127.5 - 1)
        scores = sigmoid(logits[0, :, 0])
        keep = np.flatnonzero(scores >= MIN_DETECTION_SCORE)
        if not len(keep):
            return []
        values = raw[0, keep] / DETECTOR_SIZE
        anchors = self.anchors[keep]
        centre = values[:, :2] + anchors
        half = values[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1) * DETECTOR_SIZE
        keypoints = (values[:, 4:12].reshape(-1, 4, 2) + anchors[:, None]) * DETECTOR_SIZE
        # letterbox removed: 224-pixel tensor -> frame pixels
        boxes = (boxes - np.tile(pad, 2)) / scale
        keypoints = (keypoints - pad) / scale
        return weighted_nms(scores[keep], boxes, keypoints)

    def landmarks(self, frame, region):
        """The Pose of the person in `region` of an RGB frame, None when the model says nobody
        is there."""
        crop = self.cv2.warpAffine(frame, region.crop_matrix(LANDMARK_SIZE),
                                   (LANDMARK_SIZE, LANDMARK_SIZE),
                                   flags=self.cv2.INTER_LINEAR | self.cv2.WARP_INVERSE_MAP,
                                   borderMode=self.cv2.BORDER_REPLICATE)
        outputs = _run(self.landmarker, crop.astype(np.float32) / 255)
        raw, flag, world = outputs[0], outputs[1], outputs[4]
        presence = float(np.ravel(flag)[0])
        if presence < MIN_PRESENCE:
            return None
        raw = raw.reshape(-1, 5)
        image = region.to_frame(raw[:, :2] / LANDMARK_SIZE)
        cos, sin = math.cos(region.rotation), math.sin(region.rotation)
        world = world.reshape(-1, 3)[:NUM_LANDMARKS]
        world = np.stack([cos * world[:, 0] - sin * world[:, 1],
                          sin * world[:, 0] + cos * world[:, 1], world[:, 2]], axis=1)
        return Pose(image[:NUM_LANDMARKS], world.astype(np.float32),
                    sigmoid(raw[:NUM_LANDMARKS, 3]).astype(np.float32), presence,
                    Region.from_points(image[33], image[34]))


def default_threads():
    """OMP_NUM_THREADS where it is set (the CPU threads this process may use, as for Paddle's
    kernels: processes that share the cores set it), else up to MAX_THREADS cores."""
    chosen = os.environ.get('OMP_NUM_THREADS', '').strip()
    if chosen.isdigit() and int(chosen) > 0:
        return min(int(chosen), MAX_THREADS)
    return min(MAX_THREADS, os.cpu_count() or 1)


def _loaded(interpreter_class, path, threads):
    interpreter = interpreter_class(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def _run(interpreter, tensor):
    """The interpreter's outputs, in the model's output order, for one (H, W, 3) input."""
    interpreter.set_tensor(interpreter.get_input_details()[0]['index'], tensor[None])
    interpreter.invoke()
    return [interpreter.get_tensor(d['index']) for d in _output_details(interpreter)]


def _output_details(interpreter):
    # Identity, Identity_1, ...: the model's outputs in order
    return sorted(interpreter.get_output_details(),
                  key=lambda d: int(d['name'].rpartition('_')[2]) if '_' in d['name'] else 0)


@functools.lru_cache(maxsize=1)
def import_litert():
    """LiteRT's Interpreter class; VideoSetupError when ai-edge-litert is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:
        raise VideoSetupError(f'reading videos needs LiteRT ({e}): {INSTALL}') from None
    return Interpreter
