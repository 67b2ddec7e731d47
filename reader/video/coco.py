"""MediaPipe's 33 image landmarks -> COCO-17 keypoints in pixels, with visibility as the score.

COCO's 17 keypoints are all among MediaPipe's 33 (the eyes are MediaPipe's eye centres), so
each is taken as it is; the image is used as the video shows it, mirrored or not, as a 2D pose
estimator run on the same video would see it.
"""
import numpy as np

# COCO-17 in COCO's order: nose, left/right eye, ear, shoulder, elbow, wrist, hip, knee, ankle
COCO_FROM_MEDIAPIPE = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def coco_keypoints(image, visibility, found=None):
    """(T, 33, 2) pixel landmarks and (T, 33) visibility -> ((T, 17, 2) pixels, (T, 17) scores),
    float32; frames where `found` is False are zero."""
    keypoint = np.asarray(image, np.float32)[:, COCO_FROM_MEDIAPIPE]
    score = np.asarray(visibility, np.float32)[:, COCO_FROM_MEDIAPIPE]
    if found is not None:
        absent = ~np.asarray(found, bool)
        keypoint[absent] = 0
        score[absent] = 0
    return keypoint, score
