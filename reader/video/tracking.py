"""People followed from frame to frame with stable identities.

Each tracked person's landmarks give the region where the landmark model looks in the next
frame (as MediaPipe tracks one person), so a person keeps their identity while the model finds
them. The detector looks for people not tracked yet while fewer than MAX_TRACKED are, on each
of its views every DETECT_EVERY_S seconds (LIVE_DETECT_EVERY_S live; search_views: the
frame's squares, and a closer view around the people tracked, where a person beside another
is found). A detected person is new only if their landmarks are not those of someone tracked
already; two tracks that come to follow the same person are one (the younger ends). A person
lost and found again within RELINK_S seconds near where they were lost keeps their identity.
"""
from dataclasses import dataclass, field, replace

import numpy as np

from .pose_models import Region

MAX_TRACKED = 3            # followed at once; the two most prominent are the model's bodies
DETECT_EVERY_S = 0.3       # while fewer than MAX_TRACKED are followed, each view this often
# live, where every frame's time counts: someone coming into view is found within a second
LIVE_DETECT_EVERY_S = 0.9
VIEWS = 3
RELINK_S = 2.0
# Two poses are one person when their landmarks lie this close (mean distance, in body heights)
SAME_PERSON = 0.08
RETRY_SCALE = 1.5          # a person not found in their region is looked for in one this larger
ZOOM = 2.0                 # side of the closer view, in heights of the tallest person tracked


@dataclass
class Track:
    identity: int
    pose: object              # pose_models.Pose of the latest frame


@dataclass
class Lost:
    identity: int
    centre: np.ndarray
    size: float
    time: float


@dataclass
class PeopleTracker:
    models: object            # pose_models.PoseModels
    max_tracked: int = MAX_TRACKED
    detect_every: float = DETECT_EVERY_S   # seconds between two looks at one view
    tracks: list = field(default_factory=list)
    lost: list = field(default_factory=list)
    identities: int = 0
    last_detection: float = -np.inf
    next_view: int = 0
    followed: int = 0          # frames since the detector last ran (it runs one frame in two
                               # at most: a slow live run is not spent on looking)

    def step(self, frame, time):
        """{identity: Pose} of the people in an RGB frame at `time` seconds."""
        self._follow(frame, time)
        self.followed += 1
        if not self.tracks:   # every view at once: find everyone as soon as possible
            for view in search_views(frame.shape, []):
                self._detect(frame, time, view)
            if self.tracks:
                self._detect(frame, time, search_views(frame.shape, self._boxes())[-1])
        elif len(self.tracks) < self.max_tracked and self.followed >= 2 and \
                time - self.last_detection >= self.detect_every / VIEWS:
            # one view a frame, in turn: each seen every detect_every, no frame slowed much
            views = search_views(frame.shape, self._boxes())
            self._detect(frame, time, views[self.next_view % len(views)])
            self.next_view += 1
            self.last_detection, self.followed = time, 0
        return {track.identity: track.pose for track in self.tracks}

    def _follow(self, frame, time):
        kept = []
        for track in self.tracks:
            pose = self._find_again(frame, track, kept)
            if pose is None:
                self._lose(track, time)
            else:
                kept.append(Track(track.identity, pose))
        self.tracks = kept

    def _find_again(self, frame, track, kept):
        """The track's person in this frame: where the last frame's landmarks say, else (a
        fast move, another person in front) in a region RETRY_SCALE times larger around it;
        None when neither finds someone not followed already."""
        region = track.pose.next_region
        for attempt in (region, replace(region, size=region.size * RETRY_SCALE)):
            pose = self.models.landmarks(frame, attempt)
            if pose is not None and not any(same_person(pose, other.pose) for other in kept):
                return pose
        return None

    def _boxes(self):
        return [track.pose.box for track in self.tracks]

    def _detect(self, frame, time, view):
        x0, y0, side = view
        self._add(frame, time, self.models.detect(frame[y0:y0 + side, x0:x0 + side]),
                  np.float32([x0, y0]))

    def _add(self, frame, time, detections, offset):
        """The detected people not tracked yet as new tracks (at most max_tracked in all)."""
        for detection in detections:
            if len(self.tracks) >= self.max_tracked:
                return
            region = Region.from_points(*(detection.keypoints[:2] + offset))
            if any(np.hypot(region.x - r.x, region.y - r.y) < 0.1 * r.size
                   for r in (t.pose.next_region for t in self.tracks)):
                continue   # where a tracked person is
            pose = self.models.landmarks(frame, region)
            if pose is not None and not any(same_person(pose, t.pose) for t in self.tracks):
                self.tracks.append(Track(self._identity_of(pose, time), pose))

    def _identity_of(self, pose, time):
        """A recently lost identity whose last place is near, else a new one."""
        self.lost = [lost for lost in self.lost if time - lost.time <= RELINK_S]
        centre = hip_centre(pose)
        near = [(np.linalg.norm(centre - lost.centre) / lost.size, lost) for lost in self.lost]
        near = [item for item in near if item[0] < 0.5]
        if near:
            _, lost = min(near, key=lambda item: item[0])
            self.lost.remove(lost)
            return lost.identity
        self.identities += 1
        return self.identities - 1

    def _lose(self, track, time):
        self.lost.append(Lost(track.identity, hip_centre(track.pose),
                              track.pose.next_region.size, time))


def hip_centre(pose):
    return pose.image[23:25].mean(axis=0)


def body_height(pose):
    x0, y0, x1, y1 = pose.box
    return max(y1 - y0, x1 - x0, 1.0)


def same_person(a, b):
    distance = np.linalg.norm(a.image - b.image, axis=1).mean()
    return distance < SAME_PERSON * max(body_height(a), body_height(b))


def search_views(shape, boxes):
    """(x0, y0, side) of the squares the detector looks at: the frame's left and right squares
    (a wide frame letterboxed whole would show people at half the size), and, while people
    are tracked, a square around them (someone beside them, at a closer view)."""
    height, width = shape[:2]
    side = min(height, width)
    views = list(dict.fromkeys([(0, 0, side), (width - side, height - side, side)]))
    if boxes:
        views.append(zoomed_square(boxes, shape))
    return views


def zoomed_square(boxes, shape):
    """(x0, y0, side) of a square around the boxes, ZOOM times the tallest, inside the frame."""
    boxes = np.array(boxes)
    height, width = shape[:2]
    side = int(min(height, width,
                   max(ZOOM * (boxes[:, 3] - boxes[:, 1]).max(),
                       boxes[:, 2].max() - boxes[:, 0].min())))
    centre = (boxes[:, :2].min(axis=0) + boxes[:, 2:].max(axis=0)) / 2
    x0 = int(np.clip(centre[0] - side / 2, 0, width - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, height - side))
    return x0, y0, side
