"""A video's poses as one pose annotation (reader/pose.py's format, as pyskl and mmaction2 write
it), so that -gd and infer.py read video poses exactly as they read any annotation."""
import numpy as np

from .coco import coco_keypoints
from .kinect import kinect_joints
from .placement import camera_offsets

LAYOUTS = {('ntu', 3), ('coco', 2)}
MAX_PEOPLE = 2   # NTU's files hold two bodies, and so do the models trained on them


def video_annotation(poses, layout, keypoint_dim, label=None, mirrored=False,
                     max_people=MAX_PEOPLE):
    """The annotation dict of a VideoPoses: its `max_people` most prominent people (largest and
    most moving, the most prominent first; fewer when fewer are seen), every frame kept (zeros
    where a person is absent). ('ntu', 3): Kinect camera-space joints; ('coco', 2): pixels with
    scores and the frame size. `mirrored` applies to 3D joints only (see kinect.py)."""
    if (layout, keypoint_dim) not in LAYOUTS:
        raise ValueError(f'videos give 3D ntu or 2D coco poses, not {keypoint_dim}D {layout}')
    people = poses.prominent(max_people)
    if not people:   # nobody in these frames: one absent body, zeros as in NTU's files
        poses, people = poses.with_nobody(), [0]
    annotation = {'frame_dir': poses.path.stem, 'total_frames': poses.num_frames}
    if label is not None:
        annotation['label'] = int(label)
    if keypoint_dim == 3:
        annotation['keypoint'] = np.stack([kinect_joints(placed_world(poses, p), poses.found[p],
                                                         mirrored) for p in people])
    else:
        keypoint, score = zip(*(coco_keypoints(poses.image[p], poses.visibility[p],
                                               poses.found[p]) for p in people))
        annotation.update(keypoint=np.stack(keypoint), keypoint_score=np.stack(score),
                          img_shape=tuple(poses.img_shape), original_shape=tuple(poses.img_shape))
    return annotation


def placed_world(poses, person):
    """A person's world landmarks where that person stands (placement.py), not at the hips."""
    offsets = camera_offsets(poses.world[person], poses.image[person], poses.visibility[person],
                             poses.found[person], poses.img_shape)
    return poses.world[person] + offsets[:, None]
