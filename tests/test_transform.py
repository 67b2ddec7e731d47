"""reader.transform: the X-view pre-normalisation, step by step and on real files."""
import numpy as np
import pytest

from reader import load_sample
from reader.transform import (X_AXIS, Z_AXIS, align, angle_between, centre, pad_null_frames,
                              pre_normalise, rotation_matrix)


def sample_of(frames_per_body, num_frames=6, seed=0):
    """(C, T, V, M) with body m present in the listed frames (random non-zero joints)."""
    rng = np.random.RandomState(seed)
    sample = np.zeros((3, num_frames, 25, len(frames_per_body)), np.float32)
    for m, frames in enumerate(frames_per_body):
        for t in frames:
            sample[:, t, :, m] = rng.uniform(0.5, 1.5, (3, 25))
    return sample


def padded(sample):
    out = sample.copy()
    pad_null_frames(out, out.any(axis=0))
    return out


def test_pad_repeats_the_frames_from_the_start():
    sample = sample_of([[0, 1]])
    out = padded(sample)
    for t in range(6):
        np.testing.assert_array_equal(out[:, t], sample[:, t % 2])


def test_pad_moves_a_late_body_to_the_front_first():
    sample = sample_of([[2, 3, 4]])
    out = padded(sample)
    for t in range(6):
        np.testing.assert_array_equal(out[:, t], sample[:, 2 + t % 3])


def test_pad_keeps_inner_gaps_and_leaves_empty_bodies_alone():
    sample = sample_of([[0, 2], []])
    out = padded(sample)
    for t, source in enumerate([0, 1, 2, 0, 1, 2]):   # frames 0..2 repeat, gap included
        np.testing.assert_array_equal(out[:, t, :, 0], sample[:, source, :, 0])
    assert not out[..., 1].any()


def test_pad_updates_the_joint_mask_too():
    sample = sample_of([[3]])
    mask = sample.any(axis=0)
    pad_null_frames(sample, mask)
    np.testing.assert_array_equal(mask, sample.any(axis=0))


def test_centre_subtracts_joint_1_of_body_0_per_frame():
    sample = sample_of([[0, 1, 2], [1, 2]], num_frames=3)
    sample[:, 1, 7, 1] = 0                      # an empty joint
    out = sample.copy()
    centre(out, out.any(axis=0))
    assert not out[:, :, 1, 0].any()
    np.testing.assert_allclose(out[:, 2, :, 1], sample[:, 2, :, 1] - sample[:, 2, 1:2, 0],
                               atol=1e-6)
    assert not out[:, 1, 7, 1].any() and not out[:, 0, :, 1].any()


def test_align_puts_the_vector_on_the_axis_and_keeps_zeros():
    sample = sample_of([[0, 1], []], num_frames=3)
    lengths = np.linalg.norm(sample.reshape(3, -1), axis=0)
    align(sample, 0, 1, Z_AXIS)
    vector = sample[:, 0, 1, 0] - sample[:, 0, 0, 0]
    np.testing.assert_allclose(vector / np.linalg.norm(vector), Z_AXIS, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(sample.reshape(3, -1), axis=0), lengths,
                               rtol=1e-5)
    assert not sample[..., 1].any() and not sample[:, 2].any()


def test_align_without_a_vector_changes_nothing():
    sample = sample_of([[1]], num_frames=2)    # frame 0 of body 0 is empty
    before = sample.copy()
    align(sample, 0, 1, X_AXIS)
    np.testing.assert_array_equal(sample, before)


def test_rotation_matrix_and_angle():
    matrix = rotation_matrix((1.0, 2.0, 3.0), 0.7)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(matrix) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation_matrix((0.0, 0.0, 1.0), np.pi / 2) @ [1, 0, 0],
                               [0, 1, 0], atol=1e-12)
    np.testing.assert_array_equal(rotation_matrix((0.0, 0.0, 0.0), 1.0), np.eye(3))
    assert angle_between((1.0, 0.0, 0.0), (0.0, 2.0, 0.0)) == pytest.approx(np.pi / 2)
    assert angle_between((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)) == 0.0


def unit(v):
    return v / np.linalg.norm(v)


def test_real_files_end_with_shoulders_on_x_and_spine_up_z(real_skeleton_dir):
    for path in sorted(real_skeleton_dir.glob('*.skeleton')):
        data = pre_normalise(load_sample(path)[0])
        frame0 = data[:, 0, :, 0]                                  # C, V of body 0
        np.testing.assert_allclose(unit(frame0[:, 8] - frame0[:, 4]), X_AXIS, atol=1e-5)
        # The x step turns about an axis normal to +x, so the spine, exactly on +z after the
        # z step, tilts a little (official behaviour): it stays within ~10 degrees of +z.
        assert unit(frame0[:, 1] - frame0[:, 0])[2] > 0.98
        assert not frame0[:, 1].any()                              # centred on joint 1
        assert data[..., 0].any(axis=(0, 2)).all()                 # padded to 300 frames


def test_real_file_spine_on_z_after_the_z_step(real_skeleton_dir):
    sample = load_sample(real_skeleton_dir / 'S017C003P020R002A055.skeleton')[0]
    joints = sample.any(axis=0)
    pad_null_frames(sample, joints)
    centre(sample, joints)
    align(sample, 0, 1, Z_AXIS)
    np.testing.assert_allclose(unit(sample[:, 0, 1, 0] - sample[:, 0, 0, 0]), Z_AXIS, atol=1e-6)


def test_pre_normalise_returns_a_new_array():
    sample = sample_of([[0, 1]], num_frames=4)
    before = sample.copy()
    out = pre_normalise(sample)
    np.testing.assert_array_equal(sample, before)
    assert out.shape == sample.shape and out.dtype == np.float32


def test_empty_sample_stays_empty():
    assert not pre_normalise(np.zeros((3, 10, 25, 2), np.float32)).any()
