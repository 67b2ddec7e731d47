"""reader.synthetic: NTU-format files with learnable, class-dependent motions."""
import numpy as np
import pytest

from reader import is_training, parse_name, read_skeleton, write_synthetic_dataset
from reader.ntu import BENCHMARKS


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp('synthetic')
    return write_synthetic_dataset(folder, actions=(1, 2, 3, 4, 5, 6), samples_per_action=4,
                                   frames=40, seed=3)


def test_files_have_valid_unique_names(synthetic):
    assert len(synthetic) == 24
    assert len({p.name for p in synthetic}) == 24
    assert sorted({parse_name(p.name)['action'] for p in synthetic}) == [1, 2, 3, 4, 5, 6]
    assert {parse_name(p.name)['camera'] for p in synthetic} == {1, 2, 3}


def test_every_split_of_every_benchmark_has_each_action(synthetic):
    for benchmark in BENCHMARKS:
        for action in range(1, 7):
            names = [parse_name(p.name) for p in synthetic]
            flags = {is_training(f, benchmark) for f in names if f['action'] == action}
            assert flags == {True, False}, (benchmark, action)


def test_files_parse_with_realistic_coordinates(synthetic):
    for path in synthetic:
        bodies = read_skeleton(path)
        assert 30 <= bodies.shape[1] <= 40
        assert 2.5 < bodies[0, :, :, 2].mean() < 4.0                    # metres from the camera
        assert (bodies[0, :, 3, 1] > bodies[0, :, 15, 1] + 1.0).all()   # head above the feet


def test_one_or_two_people_by_class(synthetic):
    people = {parse_name(p.name)['action']: read_skeleton(p).shape[0] for p in synthetic}
    assert people[4] == 2 and people[1] == 1


def moving_joint(path):
    bodies = read_skeleton(path)
    return int(np.argmax(bodies[0].std(axis=0).sum(axis=-1)))


def test_each_class_moves_its_own_limb(synthetic):
    by_action = {}
    for path in synthetic:
        by_action.setdefault(parse_name(path.name)['action'], set()).add(moving_joint(path))
    left_arm, right_arm = {5, 6, 7, 21, 22}, {9, 10, 11, 23, 24}
    assert by_action[1] <= left_arm and by_action[2] <= right_arm
    assert by_action[3] <= {13, 14, 15} and by_action[4] <= {17, 18, 19}


def test_same_seed_same_files(tmp_path):
    a = write_synthetic_dataset(tmp_path / 'a', actions=(7,), samples_per_action=2, seed=5)
    b = write_synthetic_dataset(tmp_path / 'b', actions=(7,), samples_per_action=2, seed=5)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
