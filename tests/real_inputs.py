"""The real files as model inputs, prepared as infer.py prepares them: the 12 NTU .skeleton files
and the windows of the two clips' poses (extracted by MediaPipe: tests/conftest.py's clip_poses,
or reader.video.video_poses). For the tests and benchmarks that compare a model's forms on them."""
import numpy as np

from deploy.batches import to_model_inputs

DRINK_CLIP = 'S001C001P001R001A001_rgb.avi'   # NTU's Kinect colour stream: mirrored


def skeleton_inputs(model_file, deploy, skeleton_dir):
    """(names, inputs) of every .skeleton file under skeleton_dir, read by infer.py's source."""
    from deploy.sources import skeleton
    failures = []
    samples = list(skeleton.open_samples([skeleton_dir], deploy, failures))
    assert not failures, failures
    return [name for name, _, _ in samples], to_model_inputs([s for _, s, _ in samples], deploy)


def clip_inputs(deploy, poses_by_name, stride=30):
    """(names, inputs) of every window of the clips' poses (name -> reader.video VideoPoses),
    cut and prepared by infer.py's video path."""
    from deploy.video_windows import file_windows, window_sample
    names, samples = [], []
    for name, poses in poses_by_name.items():
        for number, window in enumerate(file_windows(poses, deploy, stride)):
            names.append(f'{name} window {number}')
            samples.append(window_sample(window, deploy, mirrored=name == DRINK_CLIP))
    return names, np.stack([to_model_inputs([s], deploy)[0] for s in samples])


def real_inputs(model_file, deploy, skeleton_dir, poses_by_name):
    """(names, inputs) of the 12 files and the clips' windows together."""
    names, inputs = skeleton_inputs(model_file, deploy, skeleton_dir)
    clip_names, windows = clip_inputs(deploy, poses_by_name)
    return names + clip_names, np.concatenate([inputs, windows])
