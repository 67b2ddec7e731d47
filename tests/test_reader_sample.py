"""reader.sample: energy-based body selection and load_sample."""
import numpy as np

from reader import body_energy, load_sample, pre_normalise, read_skeleton, select_bodies
from skeleton_files import body, moving_bodies, ntu_text


def test_energy_is_the_summed_std_over_non_empty_frames():
    bodies = np.zeros((3, 4, 25, 3), np.float32)
    bodies[0, 0], bodies[0, 1] = 1, 3            # frames 2 and 3 are empty: left out
    bodies[1, :, :, 1] = np.arange(4)[:, None]   # y = 0 1 2 3, but frame 0 is all zero
    energy = body_energy(bodies)
    np.testing.assert_allclose(energy[0], 3 * 1.0)            # std of {1, 3} per coordinate
    np.testing.assert_allclose(energy[1], np.std([1, 2, 3]))
    assert energy[2] == 0                                     # an empty body


def test_select_bodies_highest_energy_first_and_zero_filled():
    bodies = np.zeros((3, 2, 25, 3), np.float32)
    bodies[0, :, :, 0] = [[1], [2]]    # energy 0.5
    bodies[2, :, :, 0] = [[1], [5]]    # energy 2
    chosen = select_bodies(bodies, 2)
    np.testing.assert_array_equal(chosen[0], bodies[2])
    np.testing.assert_array_equal(chosen[1], bodies[0])
    padded = select_bodies(bodies[:1], 2)
    assert padded.shape == (2, 2, 25, 3) and not padded[1].any()


def test_select_bodies_keeps_slot_order_on_ties():
    bodies = np.zeros((3, 2, 25, 3), np.float32)
    bodies[0, :, :, 0] = 1                                  # present but still: energy 0
    bodies[1, :, :, 0] = bodies[2, :, :, 0] = [[1], [2]]
    chosen = select_bodies(bodies, 2)
    np.testing.assert_array_equal(chosen, bodies[[1, 2]])


def test_load_sample_real_file(real_skeleton_dir):
    path = real_skeleton_dir / 'S001C001P001R001A050.skeleton'
    data, kept, warnings = load_sample(path)
    assert data.shape == (3, 300, 25, 2) and data.dtype == np.float32
    assert kept == 74 and warnings == []
    assert not data[:, 74:].any()
    raw = read_skeleton(path)
    first = np.argmax(body_energy(raw))
    np.testing.assert_array_equal(data[:, :74, :, 0], raw[first].transpose(2, 0, 1))


def test_load_sample_over_300_frames_keeps_the_first_300(tmp_path):
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    frames = moving_bodies(310, 0.2)
    path.write_text(ntu_text([[b] for b in frames]))
    data, kept, warnings = load_sample(path)
    assert kept == 300 and data.shape == (3, 300, 25, 2)
    assert warnings == ['310 frames, kept the first 300']
    np.testing.assert_allclose(data[:, 299, :, 0], frames[299].T, atol=1e-6)


def test_load_sample_keeps_the_two_most_energetic_of_six_bodies(tmp_path):
    amplitudes = [0.01, 0.02, 0.5, 0.03, 0.04, 0.9]     # slots 5 then 2 move most
    tracks = [moving_bodies(8, a, seed=i) for i, a in enumerate(amplitudes)]
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text(ntu_text([[t[f] for t in tracks] for f in range(8)]))
    data, kept, _ = load_sample(path)
    np.testing.assert_allclose(data[:, :8, :, 0], np.stack(tracks[5]).transpose(2, 0, 1),
                               atol=1e-6)
    np.testing.assert_allclose(data[:, :8, :, 1], np.stack(tracks[2]).transpose(2, 0, 1),
                               atol=1e-6)


def test_load_sample_transform_is_the_pre_normalisation(real_skeleton_dir):
    path = real_skeleton_dir / 'S002C001P003R001A003.skeleton'
    np.testing.assert_array_equal(load_sample(path, transform=True)[0],
                                  pre_normalise(load_sample(path)[0]))


def test_load_sample_smaller_sizes(tmp_path):
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text(ntu_text([[body(0)]] * 5))
    data, kept, warnings = load_sample(path, max_frame=4, max_body=1)
    assert data.shape == (3, 4, 25, 1) and kept == 4 and len(warnings) == 1
