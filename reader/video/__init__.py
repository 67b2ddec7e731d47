"""Videos -> poses: frames decoded with OpenCV (files, cameras and streams: live.py), people
found and tracked with stable identities by the pose models that the MediaPipe package ships
(nothing is downloaded), run through LiteRT, and those poses as pose annotations (reader/pose.py's
format) of the two most prominent people: NTU-25 Kinect camera-space joints (3D) or COCO-17
keypoints in pixels (2D), at the model's frame rate by the frames' time stamps (timing.py).

OpenCV, MediaPipe and LiteRT are optional (requirements-video.txt); they are imported when a
video is read, and their absence is a VideoSetupError saying what to install.
"""
from .annotation import video_annotation
from .coco import COCO_FROM_MEDIAPIPE, coco_keypoints
from .frames import VideoError, VideoSetupError, open_video
from .kinect import KINECT_FROM_MEDIAPIPE, kinect_joints
from .landmarks import VideoPoses, video_poses

__all__ = [
    'COCO_FROM_MEDIAPIPE', 'KINECT_FROM_MEDIAPIPE', 'VideoError', 'VideoPoses', 'VideoSetupError',
    'coco_keypoints', 'kinect_joints', 'open_video', 'video_annotation', 'video_poses',
]
