"""The J/V/B builder against direct per-joint computations."""
import numpy as np
import pytest

from dataset.graphs import Graph
from dataset.inputs import bone_features, build_inputs, joint_features, velocity_features

CONNECT = Graph('ntu').connect_joint


@pytest.fixture
def sample():
    return np.random.RandomState(0).normal(size=(3, 12, 25, 2)).astype(np.float32)


def test_joint_is_xyz_and_xyz_minus_spine(sample):
    joint = joint_features(sample)
    for v in (0, 7, 24):
        np.testing.assert_allclose(joint[:3, :, v], sample[:, :, v])
        np.testing.assert_allclose(joint[3:, :, v], sample[:, :, v] - sample[:, :, 1], atol=1e-6)


def test_velocity_one_and_two_frame_differences_zero_at_the_end(sample):
    velocity = velocity_features(sample)
    T = sample.shape[1]
    for t in range(T - 2):
        np.testing.assert_allclose(velocity[:3, t], sample[:, t + 1] - sample[:, t], atol=1e-6)
        np.testing.assert_allclose(velocity[3:, t], sample[:, t + 2] - sample[:, t], atol=1e-6)
    assert not velocity[:, T - 2:].any()


def test_bone_vectors_and_angles(sample):
    bone = bone_features(sample, CONNECT)
    for v in range(25):
        vector = sample[:, :, v] - sample[:, :, CONNECT[v]]
        length = np.sqrt((vector ** 2).sum(axis=0)) + 1e-4
        np.testing.assert_allclose(bone[:3, :, v], vector, atol=1e-6)
        np.testing.assert_allclose(bone[3:, :, v], np.arccos(vector / length), atol=1e-5)
    # the spine middle pairs with itself: zero bone, angles pi/2
    assert not bone[:3, :, 1].any()
    np.testing.assert_allclose(bone[3:, :, 1], np.pi / 2, atol=1e-6)


def test_build_inputs_order_shape_and_dtype(sample):
    out = build_inputs(sample, 'BJ', CONNECT)
    assert out.shape == (2, 6, 12, 25, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1], joint_features(sample))
    np.testing.assert_allclose(out[0], bone_features(sample, CONNECT))
    with pytest.raises(ValueError, match="'X'"):
        build_inputs(sample, 'JX', CONNECT)


def test_joint_relative_to_another_centre_and_through_build_inputs(sample):
    coco = sample[:, :, :17]
    joint = build_inputs(coco, 'J', Graph('coco').connect_joint, center=0)[0]
    np.testing.assert_allclose(joint[3:], coco - coco[:, :, :1], atol=1e-6)
    assert not joint[3:, :, 0].any()


# ---------------------------------------------------------------- 2D poses: x, y and a score
COCO = Graph('coco')


@pytest.fixture
def pose_2d():
    """(x, y, score) of COCO-17 keypoints: coordinates in [-1, 1], scores in [0, 1]."""
    rng = np.random.RandomState(1)
    xy = rng.uniform(-1, 1, (2, 12, 17, 2))
    score = rng.uniform(0, 1, (1, 12, 17, 2))
    return np.concatenate([xy, score]).astype(np.float32)


def test_2d_joint_is_xy_and_score_then_xy_relative_to_the_centre_and_score(pose_2d):
    joint = joint_features(pose_2d, center=COCO.center, keypoint_dim=2)
    xy, score = pose_2d[:2], pose_2d[2]
    for v in (0, 5, 16):
        centre = pose_2d[:2, :, COCO.center]
        np.testing.assert_array_equal(joint[:3, :, v], pose_2d[:, :, v])
        np.testing.assert_allclose(joint[3:5, :, v], xy[:, :, v] - centre, atol=1e-6)
        np.testing.assert_array_equal(joint[5, :, v], score[:, v])


def test_2d_velocity_scores_are_the_mean_of_the_two_frames(pose_2d):
    velocity = velocity_features(pose_2d, keypoint_dim=2)
    xy, score = pose_2d[:2], pose_2d[2]
    T = pose_2d.shape[1]
    for t in range(T - 2):
        np.testing.assert_allclose(velocity[:2, t], xy[:, t + 1] - xy[:, t], atol=1e-6)
        np.testing.assert_allclose(velocity[2, t], (score[t] + score[t + 1]) / 2, atol=1e-6)
        np.testing.assert_allclose(velocity[3:5, t], xy[:, t + 2] - xy[:, t], atol=1e-6)
        np.testing.assert_allclose(velocity[5, t], (score[t] + score[t + 2]) / 2, atol=1e-6)
    assert not velocity[:, T - 2:].any()


def test_2d_bones_have_lengths_and_angles_of_xy_and_the_mean_score_of_their_joints(pose_2d):
    bone = bone_features(pose_2d, COCO.connect_joint, keypoint_dim=2)
    xy, score = pose_2d[:2], pose_2d[2]
    for v in range(17):
        parent = COCO.connect_joint[v]
        vector = xy[:, :, v] - xy[:, :, parent]
        length = np.sqrt((vector ** 2).sum(axis=0)) + 1e-4
        mean_score = (score[:, v] + score[:, parent]) / 2
        np.testing.assert_allclose(bone[:2, :, v], vector, atol=1e-6)
        np.testing.assert_allclose(bone[3:5, :, v], np.arccos(vector / length), atol=1e-5)
        np.testing.assert_allclose(bone[2, :, v], mean_score, atol=1e-6)
        np.testing.assert_allclose(bone[5, :, v], mean_score, atol=1e-6)


def test_2d_scores_move_only_the_score_channels(pose_2d):
    """Scores are confidences: other scores change no difference, length or angle."""
    rescored = pose_2d.copy()
    rescored[2] = np.random.RandomState(5).uniform(0, 1, rescored[2].shape)
    before, after = (build_inputs(x, 'JVB', COCO.connect_joint, COCO.center, keypoint_dim=2)
                     for x in (pose_2d, rescored))
    coordinates = [0, 1, 3, 4]
    np.testing.assert_array_equal(after[:, coordinates], before[:, coordinates])
    assert not np.allclose(after[:, [2, 5]], before[:, [2, 5]])


def test_3d_is_the_default_and_other_dims_are_refused(sample):
    np.testing.assert_array_equal(build_inputs(sample, 'JVB', CONNECT),
                                  build_inputs(sample, 'JVB', CONNECT, keypoint_dim=3))
    with pytest.raises(ValueError, match='keypoint_dim must be 2 or 3'):
        build_inputs(sample, 'J', CONNECT, keypoint_dim=4)


def test_a_2d_pose_dataset_feeds_2d_inputs(tmp_path, pose_2d):
    """The feeder of a pose dataset with keypoint_dim 2 builds what build_inputs does for 2D."""
    import pickle

    from dataset.ntu_feeder import NTU_Feeder
    folder = tmp_path / 'original' / 'pose-mine'
    folder.mkdir(parents=True)
    np.save(folder / 'eval_data.npy', pose_2d[None])
    with open(folder / 'eval_label.pkl', 'wb') as f:
        pickle.dump((['clip'], [0], [12]), f)
    args = dict(root_folder=str(tmp_path), transform=False, num_frame=12, inputs='JVB',
                layout='coco', keypoint_dim=2, num_class=3, max_frame=12)
    x = NTU_Feeder('eval', 'pose-mine', args, COCO.connect_joint, center=COCO.center)[0][0]
    np.testing.assert_array_equal(x, build_inputs(pose_2d, 'JVB', COCO.connect_joint,
                                                  COCO.center, keypoint_dim=2))
    assert not np.array_equal(x, build_inputs(pose_2d, 'JVB', COCO.connect_joint, COCO.center))
