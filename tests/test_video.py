"""Videos -> poses (reader/video): the NTU-25 mapping and COCO-17 annotation on the real clips in
../shared/video, scored by the published X-view checkpoint, and bad inputs.

The clips' poses are extracted once per session (conftest.clip_poses).
Without the clips, or without MediaPipe and OpenCV (requirements-video.txt), those tests skip
with a message; the mapping's own tests need neither.
"""
import pickle

import numpy as np
import pytest

from conftest import DRINK_CLIP, HUG_CLIP, SHARED, need_clip, need_mediapipe
from helpers import write_empty_room
from reader import load_annotations, pose_sample, split_samples
from reader.video import (COCO_FROM_MEDIAPIPE, KINECT_FROM_MEDIAPIPE, VideoError,
                          VideoSetupError, kinect_joints, video_annotation, video_poses)
from reader.video import landmarks as video_landmarks
from reader.video import pose_models

DRINK_WATER = 0


def _skeleton_file_columns(path):
    """(T, 25, 12) of a one-body .skeleton file: x y z, depth x y, colour x y, orientation
    w x y z and tracking state (2 tracked, 1 inferred) of every joint."""
    lines = open(path).read().split('\n')
    frames, row = [], 1
    for _ in range(int(lines[0])):
        assert int(lines[row]) == 1, 'one body per frame expected'
        joints = lines[row + 3: row + 28]
        frames.append([[float(v) for v in line.split()[:12]] for line in joints])
        row += 28
    return np.array(frames, np.float32)


# ---- the mapping, without MediaPipe ----

def test_every_kinect_joint_averages_known_landmarks():
    assert len(KINECT_FROM_MEDIAPIPE) == 25
    assert len(COCO_FROM_MEDIAPIPE) == 17
    world = np.random.RandomState(0).normal(0, 0.3, (4, 33, 3)).astype(np.float32)
    joints = kinect_joints(world)
    for joint, (name, landmarks) in enumerate(KINECT_FROM_MEDIAPIPE):
        expected = world[:, list(landmarks)].mean(axis=1) * [-1, -1, 1]
        np.testing.assert_allclose(joints[:, joint], expected, atol=1e-6, err_msg=name)


def test_axes_follow_both_documentations():
    """A person facing the camera: MediaPipe's left shoulder is on the image's right (x > 0),
    the head up (y < 0), the left hand nearer (z < 0). In Kinect camera space the left shoulder
    is on the sensor's right (x < 0), the head up (y > 0), the hand nearer (z smaller)."""
    world = np.zeros((1, 33, 3), np.float32)
    world[0, 11] = (0.2, -0.5, 0.0)      # left shoulder
    world[0, 7] = world[0, 8] = (0.0, -0.7, 0.0)   # ears
    world[0, 15] = (0.2, -0.3, -0.3)     # left wrist, reaching to the camera
    joints = kinect_joints(world)
    assert joints[0, 4, 0] < 0 and joints[0, 3, 1] > 0 and joints[0, 6, 2] < 0
    mirrored = kinect_joints(world, mirrored=True)
    # In a mirrored video the shoulder MediaPipe calls left, on the image's right, is the
    # person's right shoulder, really on the camera's left: Kinect x > 0.
    np.testing.assert_allclose(mirrored[0, 8], joints[0, 4] * [-1, 1, 1])
    assert not mirrored[0, 4].any()


def test_frames_without_a_person_are_zero():
    world = np.ones((3, 33, 3), np.float32)
    joints = kinect_joints(world, found=[True, False, True])
    assert not joints[1].any() and joints[0].all() and joints[2].all()


# ---- the real clips ----

def test_clip_poses_cover_every_frame(clip_poses):
    drink, hug = clip_poses[DRINK_CLIP], clip_poses[HUG_CLIP]
    assert (drink.num_frames, hug.num_frames) == (103, 72)
    assert drink.img_shape == (1080, 1920) and drink.fps == 30
    np.testing.assert_allclose(drink.times, np.arange(103) / 30, atol=1e-6)
    assert drink.found.all() and hug.anyone.all()


def test_the_drinking_clip_is_one_person(clip_poses):
    """One person stays one body: no phantom second person is tracked."""
    drink = clip_poses[DRINK_CLIP]
    assert drink.num_people == 1 and drink.prominent(2) == [0]
    annotation = video_annotation(drink, 'ntu', 3, mirrored=True)
    assert annotation['keypoint'].shape == (1, 103, 25, 3)


def test_both_hugging_people_are_tracked_with_stable_identities(clip_poses):
    """Both people in at least 90% of the frames, each body's track continuous (its hips move
    less than a tenth of its height from one frame to the next, at 30 frames/s), the two never
    the same person, and neither taking the other's place: the person who starts on the left
    stays left of the other's starting place, and the other way round."""
    hug = clip_poses[HUG_CLIP]
    people = hug.prominent(2)
    assert len(people) == 2 and hug.num_people == 2, hug.found.sum(axis=1)
    found = hug.found[people]
    assert found.mean(axis=1).min() >= 0.9, found.sum(axis=1)
    hips = hug.image[people][:, :, 23:25].mean(axis=2)             # (2, T, 2) pixels
    heights = np.ptp(hug.image[people][..., 1], axis=2)             # (2, T)
    for person in range(2):
        seen = np.flatnonzero(found[person])
        steps = np.linalg.norm(np.diff(hips[person, seen], axis=0), axis=1)
        gaps = np.diff(seen)
        assert (steps / gaps < 0.1 * heights[person, seen[1:]]).all(), steps.max()
    both = found.all(axis=0)
    apart = np.linalg.norm(hug.image[people[0]] - hug.image[people[1]], axis=-1).mean(axis=-1)
    assert (apart[both] > 0.08 * heights.max(axis=0)[both]).all()
    left, right = np.argsort(hips[:, 0, 0])
    assert (hips[left, found[left], 0] < hips[right, 0, 0]).all()
    assert (hips[right, found[right], 0] > hips[left, 0, 0]).all()


def test_the_models_are_fed_as_the_packages_own_pipeline(clip_poses):
    """On the first frame, the detector on the whole frame and the landmark model on the region
    it gives, as MediaPipe's legacy pose solution runs the same shipped models with its own
    graphs, give that solution's world landmarks within 1 cm (measured here 5 mm, 0.6 mm on
    the median): so the models get their input as they expect it. The tracker detects on a
    square of the frame, so its region differs a little: within 5 cm, 1 cm on the median."""
    import mediapipe as mp

    from reader.video import open_video
    from reader.video.pose_models import PoseModels, Region
    _, frames = open_video(need_clip(DRINK_CLIP))
    frame = next(frames)[1]
    frames.close()
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as legacy:
        result = legacy.process(frame)
    world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark])
    models = PoseModels()
    detection = models.detect(frame)[0]
    whole_frame = models.landmarks(frame, Region.from_points(*detection.keypoints[:2])).world
    np.testing.assert_allclose(whole_frame, world, atol=0.01)
    assert np.median(np.abs(whole_frame - world)) < 0.002
    ours = clip_poses[DRINK_CLIP].world[0, 0]
    np.testing.assert_allclose(ours, world, atol=0.05)
    assert np.median(np.abs(ours - world)) < 0.01


def test_mapped_joints_agree_with_kinects_own_skeleton_of_the_clip(clip_poses):
    """NTU ships Kinect's skeleton of the same take: relative to the spine base, the mapped
    joints lie within a few centimetres of Kinect's (median), and only with the mirror undone
    (NTU's videos are Kinect's mirrored colour stream)."""
    skeleton = SHARED / 'ntu' / 'skeletons' / 'S001C001P001R001A001.skeleton'
    if not skeleton.exists():
        pytest.skip(f'{skeleton} is absent')
    kinect = _skeleton_file_columns(skeleton)[..., :3]
    poses = clip_poses[DRINK_CLIP]
    errors = {}
    for mirrored in (True, False):
        joints = kinect_joints(poses.world[0], poses.found[0], mirrored)
        offset = (joints - joints[:, :1]) - (kinect - kinect[:, :1])
        errors[mirrored] = np.median(np.linalg.norm(offset, axis=-1))
    assert errors[True] < 0.15, errors
    assert errors[False] > errors[True] * 1.3, errors


def test_drink_water_is_in_the_xview_checkpoints_top5(clip_poses, pretrained_dir):
    """The clip's poses as NTU joints, pre-normalised as X-view data (config 2002), scored by
    the published X-view checkpoint in dygraph."""
    import paddle

    from utils.config import load_config
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    cfg = load_config('2002')
    net, graph, data_shape, _ = build_model(cfg)
    path = pretrained_dir / 'xview.pdparams'
    load_model_state(net, model_state_of(load_checkpoint(path)), path)
    net.eval()
    annotation = video_annotation(clip_poses[DRINK_CLIP], 'ntu', 3, mirrored=True)
    sample, frames, _ = pose_sample(annotation, 25, 3, 300, transform=True)
    assert frames == 103
    inputs = build_inputs(sample[:, :data_shape[2]], 'JVB', graph.connect_joint)
    with paddle.no_grad():
        logits = net(paddle.to_tensor(inputs[None]))[0].numpy()[0]
    assert np.abs(logits).max() > 1
    assert DRINK_WATER in np.argsort(-logits)[:5], np.argsort(-logits)[:5]


def test_coco_annotation_is_read_unchanged_as_a_pose_annotation(clip_poses, tmp_path):
    poses = clip_poses[HUG_CLIP]
    annotation = video_annotation(poses, 'coco', 2, label=3)
    assert annotation['keypoint'].shape == (2, 72, 17, 2)
    assert annotation['keypoint_score'].shape == (2, 72, 17)
    assert annotation['img_shape'] == annotation['original_shape'] == (1080, 1920)
    assert annotation['frame_dir'] == 'ntu_sample' and annotation['total_frames'] == 72
    found = poses.found[poses.prominent(2)]
    present = annotation['keypoint'][found]
    assert (present[..., 0] > 0).all() and (present[..., 0] < 1920).all()
    assert (present[..., 1] > 0).all() and (present[..., 1] < 1080).all()
    assert not annotation['keypoint'][~found].any()
    score = annotation['keypoint_score']
    assert 0 <= score.min() and score.max() <= 1 and score[found].mean() > 0.5
    with open(tmp_path / 'video.pkl', 'wb') as f:
        pickle.dump([annotation], f)
    annotations, splits = load_annotations(tmp_path / 'video.pkl')
    (name, read), = split_samples(annotations, splits, None, tmp_path / 'video.pkl')[0]
    sample, frames, warnings = pose_sample(read, 17, 2, 300)
    assert (name, frames, warnings) == ('ntu_sample', 72, [])
    x_pixels = annotation['keypoint'][..., 0].transpose(1, 2, 0)    # (T, V, M)
    np.testing.assert_allclose(np.sort(sample[0, :72], axis=-1),
                               np.sort(x_pixels / 1920 * 2 - 1, axis=-1), atol=1e-6)


def test_coco_keypoints_are_where_kinect_saw_the_joints(clip_poses):
    """The drink-water clip's COCO keypoints in pixels against the colour-image positions that
    Kinect's skeleton file gives for the same joints (MediaPipe names the mirrored person's
    sides, so its left shoulder is Kinect's right): within 40 pixels (median over the frames
    where Kinect tracked the joint rather than inferred it) at 1080p."""
    skeleton = SHARED / 'ntu' / 'skeletons' / 'S001C001P001R001A001.skeleton'
    if not skeleton.exists():
        pytest.skip(f'{skeleton} is absent')
    columns = _skeleton_file_columns(skeleton)
    colour, tracked = columns[..., 5:7], columns[..., 11] == 2
    poses = clip_poses[DRINK_CLIP]
    keypoint = video_annotation(poses, 'coco', 2)['keypoint'][0]   # the one person
    # COCO shoulders, elbows, wrists, hips, knees, ankles (5..16, left then right) against
    # Kinect's right then left joints (1-based 9, 5, 10, 6, 11, 7, 17, 13, 18, 14, 19, 15)
    kinect = np.array([9, 5, 10, 6, 11, 7, 17, 13, 18, 14, 19, 15]) - 1
    distance = np.linalg.norm(keypoint[:, 5:17] - colour[:, kinect], axis=-1)
    median = [np.median(d[t]) for d, t in zip(distance.T, tracked[:, kinect].T)]
    assert max(median) < 40, median


# ---- bad inputs: one line each ----

def _one_line(error, path):
    text = str(error)
    assert '\n' not in text and str(path) in text
    return text


def test_not_a_video_and_an_undecodable_file(tmp_path):
    need_mediapipe()
    text_file = tmp_path / 'notes.avi'
    text_file.write_text('not a video\n')
    with pytest.raises(VideoError) as error:
        video_poses(text_file)
    assert 'cannot decode' in _one_line(error.value, text_file)
    truncated = tmp_path / 'truncated.avi'
    truncated.write_bytes(need_clip(DRINK_CLIP).read_bytes()[:4096])
    with pytest.raises(VideoError) as error:
        video_poses(truncated)
    _one_line(error.value, truncated)
    with pytest.raises(VideoError) as error:
        video_poses(tmp_path / 'absent.mp4')
    assert 'no such file' in _one_line(error.value, tmp_path / 'absent.mp4')


def test_a_video_without_a_person(tmp_path):
    need_mediapipe()
    path = write_empty_room(tmp_path / 'empty_room.avi')
    with pytest.raises(VideoError) as error:
        video_poses(path)
    assert 'no person found in any of its 8 frames' in _one_line(error.value, path)


def test_mediapipe_or_litert_missing(monkeypatch):
    import sys
    for module in ('mediapipe', 'ai_edge_litert.interpreter'):
        monkeypatch.setitem(sys.modules, module, None)
        pose_models.import_litert.cache_clear()
        with pytest.raises(VideoSetupError) as error:
            video_landmarks.import_mediapipe()
        assert 'pip install -r requirements-video.txt' in str(error.value)
        assert '\n' not in str(error.value)
        monkeypatch.undo()
    pose_models.import_litert.cache_clear()


@pytest.mark.parametrize('chosen,threads', [('1', 1), ('4', 2), ('', None), ('x', None)])
def test_the_pose_models_take_omp_num_threads_where_it_is_set(monkeypatch, chosen, threads):
    """Processes sharing the cores (pytest's workers, several -gd runs) set OMP_NUM_THREADS;
    the pose models then take as many threads as Paddle's kernels, at most MAX_THREADS."""
    monkeypatch.setattr(pose_models.os, 'cpu_count', lambda: 8)
    monkeypatch.setenv('OMP_NUM_THREADS', chosen)
    assert pose_models.default_threads() == (threads or pose_models.MAX_THREADS)
