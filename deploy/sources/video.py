"""Videos (files, or folders of them): one person's poses per frame (reader/video), as a pose
annotation in the model's layout, cut into windows of the model's frame count every --stride
frames; each window is prepared as -gd prepares a pose annotation.

Unlike the other sources, a video is many samples (its windows) and is reported as a whole
(deploy/video_results.py), so this source yields one VideoClip per readable video.
"""
from dataclasses import dataclass
from pathlib import Path

import reader
from reader.video import VideoError, VideoSetupError, video_annotation, video_poses
from reader.video.annotation import LAYOUTS
from reader.video.frames import VIDEO_SUFFIXES
from ..messages import InferError, notice, report_error, warn
from ..model_config import check_sample_shape
from .paths import collect_files



@dataclass
class VideoClip:
    """A video's poses, its annotation in the model's layout and its windows [start, end)."""
    poses: object             # reader.video.VideoPoses
    annotation: dict
    windows: list

    @property
    def name(self):
        return self.poses.path.stem

    def samples(self, deploy):
        """(window name, sample, None) of every window, prepared as -gd prepares a sample."""
        num_joints = deploy['input_shape'][-2]
        for start, end in self.windows:
            sample, _, _ = reader.pose_sample(window_annotation(self.annotation, start, end),
                                              num_joints, deploy['keypoint_dim'],
                                              deploy['max_frame'], bool(deploy['transform']))
            check_sample_shape(sample.shape, deploy, self.name)
            yield f'{self.name}@{start}-{end}', sample, None


def check_video_model(deploy):
    layout = (deploy['layout'], deploy['keypoint_dim'])
    if layout not in LAYOUTS:
        raise InferError(f'videos give 3D ntu or 2D coco poses, but this model takes '
                         f'{deploy["keypoint_dim"]}D poses in the {deploy["layout"]} layout')


def video_files(paths, failures):
    """The given files plus the videos (by suffix) of the given folders, each once, in order."""
    return collect_files(paths, failures, lambda path: path.suffix.lower() in VIDEO_SUFFIXES,
                         'videos')


def window_bounds(num_frames, length, stride):
    """[start, end) of the windows: `length` frames every `stride` frames, the last one ending
    with the clip; one window of the whole clip when it is shorter."""
    if num_frames <= length:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - length + 1, stride))
    if starts[-1] + length < num_frames:
        starts.append(num_frames - length)
    return [(start, start + length) for start in starts]


def window_annotation(annotation, start, end):
    """The annotation of frames [start, end): the frame-indexed arrays cut, the rest kept."""
    window = dict(annotation, total_frames=end - start)
    for key in ('keypoint', 'keypoint_score'):
        if key in annotation:
            window[key] = annotation[key][:, start:end]
    return window


def open_clips(args, deploy, failures):
    """Checks before Paddle loads; returns the iterator of VideoClip of the readable videos."""
    check_video_model(deploy)
    if args.stride < 1:
        raise InferError(f'--stride must be at least 1, got {args.stride}')
    files = video_files(args.video, failures)
    if not files and not failures:
        raise InferError(f'no videos in {" ".join(args.video)}')
    if args.save_video and Path(args.save_video).suffix and len(files) > 1:
        raise InferError(f'--save-video {args.save_video} names one file but {len(files)} '
                         'videos are given: name a folder')
    if files:
        try:
            reader.video.landmarks.import_mediapipe()
        except VideoSetupError as e:
            raise InferError(str(e)) from None
    return video_clips(files, deploy, args, failures)


def video_clips(files, deploy, args, failures):
    for path in files:
        notice(f'{path}: reading poses')
        try:
            poses = video_poses(path)
        except VideoError as e:
            report_error(path, str(e).removeprefix(f'{path}: '))
            failures.append(str(path))
            continue
        if not poses.found.all():
            warn(f'{path}: no person found in {int((~poses.found).sum())} of '
                 f'{poses.num_frames} frames (zero there, as in NTU files)')
        annotation = video_annotation(poses, deploy['layout'], deploy['keypoint_dim'],
                                      mirrored=args.mirrored)
        yield VideoClip(poses, annotation,
                        window_bounds(poses.num_frames, deploy['num_frame'], args.stride))

