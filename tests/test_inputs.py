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
