"""Where each person stands: MediaPipe's world landmarks are relative to that person's hips, so
two people would stand on one spot; their camera-space position is estimated from the image.

Per frame, the visible landmarks' image positions are fitted to their world positions as a
weak-perspective camera does (image = centre + k * world x, y; k in pixels per metre): the
person's depth is focal / k and the hips' image point, over k, their sideways and vertical
offset. The focal length is that of a camera seeing FIELD_OF_VIEW degrees across the frame's
width (phones' main cameras see 65-75, Kinect v2's colour camera 84): depths scale with it,
sideways offsets do not depend on it."""
import math

import numpy as np

FIELD_OF_VIEW = 70.0
MIN_VISIBILITY = 0.5


def camera_offsets(world, image, visibility, found, img_shape):
    """(T, 33, 3) world, (T, 33, 2) pixel landmarks, (T, 33) visibility, (T,) found -> (T, 3)
    float32 position of the hips' centre in MediaPipe's world axes (x right, y down, z away),
    metres; zero where the person is absent."""
    height, width = img_shape
    focal = width / 2 / math.tan(math.radians(FIELD_OF_VIEW) / 2)
    centre = np.float32([width / 2, height / 2])
    offsets = np.zeros((len(found), 3), np.float32)
    for t in np.flatnonzero(found):
        seen = visibility[t] >= MIN_VISIBILITY
        seen = seen if seen.sum() >= 4 else np.ones_like(seen)
        pixels, metres = image[t][seen], world[t][seen, :2]
        u, w = pixels - pixels.mean(axis=0), metres - metres.mean(axis=0)
        scale = float((u * w).sum() / max((w * w).sum(), 1e-9))
        if scale <= 0:
            continue
        origin = pixels.mean(axis=0) - scale * metres.mean(axis=0)
        offsets[t, :2] = (origin - centre) / scale
        offsets[t, 2] = focal / scale
    return offsets
