"""A video's poses as one pose annotation (reader/pose.py's format, as pyskl and mmaction2 write
it), so that -gd and infer.py read video poses exactly as they read any annotation."""
from .coco import coco_keypoints
from .kinect import kinect_joints

LAYOUTS = {('ntu', 3), ('coco', 2)}


def video_annotation(poses, layout, keypoint_dim, label=None, mirrored=False):
    """The annotation dict of a VideoPoses: one person, every decoded frame (zeros where nobody
    was found). ('ntu', 3): Kinect camera-space joints; ('coco', 2): pixels with scores and the
    frame size. `mirrored` applies to 3D joints only (see kinect.py)."""
    if (layout, keypoint_dim) not in LAYOUTS:
        raise ValueError(f'videos give 3D ntu or 2D coco poses, not {keypoint_dim}D {layout}')
    annotation = {'frame_dir': poses.path.stem, 'total_frames': poses.num_frames}
    if label is not None:
        annotation['label'] = int(label)
    if keypoint_dim == 3:
        annotation['keypoint'] = kinect_joints(poses.world, poses.found, mirrored)[None]
    else:
        keypoint, score = coco_keypoints(poses.image, poses.visibility, poses.found)
        annotation.update(keypoint=keypoint[None], keypoint_score=score[None],
                          img_shape=tuple(poses.img_shape), original_shape=tuple(poses.img_shape))
    return annotation
