"""reader.pose: the annotation pickle, its splits, and one annotation -> one sample."""
import numpy as np
import pytest

from pose_files import annotation_2d, annotation_3d, ntu_annotation, write_pickle
from reader import (PoseFileError, PoseSampleError, load_annotations, load_sample, pose_sample,
                    pre_normalise, split_samples)
from reader.pose import annotations_without_id, keypoint_dim, read_label


# ---------------------------------------------------------------- the file
def test_dict_and_list_forms(tmp_path):
    annotations = [annotation_2d('a', 0), annotation_2d('b', 1)]
    splits = {'train': ['a'], 'val': ['b']}
    both = load_annotations(write_pickle(tmp_path / 'd.pkl', {'split': splits,
                                                               'annotations': annotations}))
    assert [a['frame_dir'] for a in both[0]] == ['a', 'b'] and both[1] == splits
    listed, no_splits = load_annotations(write_pickle(tmp_path / 'l.pkl', annotations))
    assert len(listed) == 2 and no_splits is None
    single, no_splits = load_annotations(write_pickle(tmp_path / 'one.pkl', annotations[0]))
    assert [a['frame_dir'] for a in single] == ['a'] and no_splits is None


@pytest.mark.parametrize('content', [b'not a pickle at all', b''])
def test_a_file_that_is_not_a_pickle_is_one_line(tmp_path, content):
    path = tmp_path / 'x.pkl'
    path.write_bytes(content)
    with pytest.raises(PoseFileError, match='is not a pose-annotation pickle') as error:
        load_annotations(path)
    assert '\n' not in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize('content', [42, {'annotations': 'x'}, [1, 2], {'split': {}}])
def test_a_pickle_of_something_else_is_named(tmp_path, content):
    with pytest.raises(PoseFileError, match='not a pose-annotation pickle'):
        load_annotations(write_pickle(tmp_path / 'x.pkl', content))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PoseFileError, match='cannot read'):
        load_annotations(tmp_path / 'absent.pkl')


# ---------------------------------------------------------------- splits
def test_a_split_keeps_its_order_and_names_ids_it_cannot_take():
    annotations = [annotation_2d(n, 0) for n in ('a', 'b', 'c', 'c')]
    samples, missing = split_samples(annotations, {'s': ['b', 'zz', 'a', 'c']}, 's', 'f.pkl')
    assert [name for name, _ in samples] == ['b', 'a']
    assert missing == [('zz', "in split 's' but not in the annotations"),
                       ('c', 'its frame_dir appears 2 times in the annotations')]


def test_an_unknown_split_lists_the_file_s_splits():
    with pytest.raises(PoseFileError, match=r"no split 'x' \(its splits: a, b\)"):
        split_samples([], {'a': [], 'b': []}, 'x', 'f.pkl')
    with pytest.raises(PoseFileError, match='not a list of sample ids'):
        split_samples([], {'a': 'abc'}, 'a', 'f.pkl')


def test_no_split_gives_every_annotation_and_a_bare_list_has_none_to_name():
    annotations = [annotation_2d('a', 0), {'keypoint': None}]
    samples, missing = split_samples(annotations, None, None, 'f.pkl')
    assert [name for name, _ in samples] == ['a', 'annotation #1'] and missing == []
    assert len(split_samples(annotations, {'t': ['a']}, None, 'f.pkl')[0]) == 2
    with pytest.raises(PoseFileError, match="without splits, so no split 'train'"):
        split_samples(annotations, None, 'train', 'f.pkl')


def test_a_split_that_gives_no_annotation_is_an_error():
    """An empty split, one naming only ids the annotations lack, an empty list: each says so
    (the annotations without frame_dir counted), instead of an empty dataset."""
    annotations = [annotation_2d('a', 0), {'keypoint': None}, {'label': 1}]
    with pytest.raises(PoseFileError, match=r"f.pkl: split 'val' is empty"):
        split_samples(annotations, {'train': ['a'], 'val': []}, 'val', 'f.pkl')
    with pytest.raises(PoseFileError) as caught:
        split_samples(annotations, {'val': ['x', 'y']}, 'val', 'f.pkl')
    assert str(caught.value) == (
        "f.pkl: split 'val' names 2 samples, none of which it can take from its 3 annotations "
        "(e.g. x: in split 'val' but not in the annotations); 2 of them have no frame_dir")
    with pytest.raises(PoseFileError, match='f.pkl holds no annotations'):
        split_samples([], None, None, 'f.pkl')


def test_annotations_without_frame_dir_by_position():
    annotations = [annotation_2d('a', 0), {'keypoint': None}, 'not a dict', annotation_2d('b', 1)]
    assert annotations_without_id(annotations) == [1, 2]


def test_keypoint_dim_of_the_first_usable_annotation():
    assert keypoint_dim([{'keypoint': None}, annotation_3d('a', 0)]) == 3
    assert keypoint_dim([annotation_2d('a', 0)]) == 2 and keypoint_dim([]) is None


# ---------------------------------------------------------------- 3D samples
def test_a_3d_annotation_of_an_ntu_file_is_load_sample(real_skeleton_dir):
    for path in sorted(real_skeleton_dir.glob('*.skeleton'))[:4]:
        for transform in (False, True):
            expected, length, notes = load_sample(path, transform=transform)
            got = pose_sample(ntu_annotation(path), 25, 3, 300, transform)
            np.testing.assert_array_equal(got[0], expected)
            assert got[1:] == (length, notes)


def test_3d_keeps_the_two_most_energetic_persons_and_pads():
    annotation = annotation_3d('a', 0, persons=3, frames=5)
    annotation['keypoint'][1] *= 0.01   # the least energetic
    data, length, notes = pose_sample(annotation, 25, 3, max_frame=8)
    assert data.shape == (3, 8, 25, 2) and length == 5 and notes == []
    kept = data[:, :5].transpose(3, 1, 2, 0)
    energies = [annotation['keypoint'][i].std(axis=(0, 1)).sum() for i in (0, 2)]
    order = [0, 2] if energies[0] >= energies[1] else [2, 0]
    np.testing.assert_array_equal(kept, annotation['keypoint'][order])
    assert not data[:, 5:].any()


def test_frames_past_max_frame_are_cut_with_a_warning():
    _, length, notes = pose_sample(annotation_3d('a', 0, frames=12), 25, 3, max_frame=10)
    assert length == 10 and notes == ['12 frames, kept the first 10']


def test_transform_is_the_pre_normalisation():
    annotation = annotation_3d('a', 0, persons=2, frames=6)
    plain = pose_sample(annotation, 25, 3, 6)[0]
    np.testing.assert_allclose(pose_sample(annotation, 25, 3, 6, transform=True)[0],
                               pre_normalise(plain), atol=1e-6)


# ---------------------------------------------------------------- 2D samples
def test_2d_coordinates_span_the_image_as_minus_one_to_one_and_the_score_is_third():
    annotation = annotation_2d('a', 0, frames=3, img_shape=(100, 200))
    keypoint = annotation['keypoint']
    keypoint[0, 0, :3] = [[0, 0], [200, 100], [100, 50]]   # corners and the centre
    data = pose_sample(annotation, 17, 2, max_frame=4)[0]
    np.testing.assert_allclose(data[:2, 0, :3, 0].T, [[-1, -1], [1, 1], [0, 0]], atol=1e-6)
    np.testing.assert_allclose(data[:2, :3, :, 0].transpose(1, 2, 0),
                               keypoint[0] / [100, 50] - 1, atol=1e-6)
    np.testing.assert_array_equal(data[2, :3, :, 0], annotation['keypoint_score'][0])
    assert not data[:, 3:].any() and not data[..., 1].any()   # padded frames, no second person


def test_2d_keeps_the_persons_with_the_highest_mean_score():
    annotation = annotation_2d('a', 0, persons=3, frames=4)
    annotation['keypoint_score'][:] = np.array([0.2, 0.9, 0.5])[:, None, None]
    data = pose_sample(annotation, 17, 2, max_frame=4)[0]
    np.testing.assert_allclose(data[2, 0, 0], [0.9, 0.5])
    xy = annotation['keypoint'][[1, 2]] / [320, 240] - 1
    np.testing.assert_allclose(data[:2].transpose(3, 1, 2, 0), xy, atol=1e-6)


# ---------------------------------------------------------------- bad annotations
def _with(annotation, **changes):
    annotation = dict(annotation)
    for key, value in changes.items():
        if value is None:
            annotation.pop(key)
        else:
            annotation[key] = value
    return annotation


GOOD_2D = annotation_2d('a', 0, persons=1, frames=4)
BAD_2D = {
    'no keypoint': (_with(GOOD_2D, keypoint=None), 'no keypoint entry'),
    'not numbers': (_with(GOOD_2D, keypoint='abc'), 'not an array of numbers'),
    'three axes': (_with(GOOD_2D, keypoint=np.zeros((4, 17, 2))), 'not (persons, frames, 17, 2)'),
    'wrong joints': (_with(GOOD_2D, keypoint=np.zeros((1, 4, 25, 2))), 'shape (1, 4, 25, 2)'),
    'wrong coordinates': (_with(GOOD_2D, keypoint=np.zeros((1, 4, 17, 3))), 'not (persons'),
    'no persons': (_with(GOOD_2D, keypoint=np.zeros((0, 4, 17, 2))), 'no persons or no frames'),
    'total_frames': (_with(GOOD_2D, total_frames=7), 'total_frames is 7 but keypoint has 4'),
    'nan keypoint': (_with(GOOD_2D, keypoint=np.full((1, 4, 17, 2), np.nan)), 'non-finite'),
    'no score': (_with(GOOD_2D, keypoint_score=None), 'without keypoint_score'),
    'score shape': (_with(GOOD_2D, keypoint_score=np.ones((1, 3, 17))), 'keypoint_score has'),
    'inf score': (_with(GOOD_2D, keypoint_score=np.full((1, 4, 17), np.inf)), 'non-finite'),
    'no img_shape': (_with(GOOD_2D, img_shape=None), 'img_shape None'),
    'zero img_shape': (_with(GOOD_2D, img_shape=(0, 640)), 'not a positive'),
    'compressed': (_with(GOOD_2D, frame_inds=np.zeros(4, np.int16)), 'frame_inds'),
}


@pytest.mark.parametrize('kind', BAD_2D)
def test_each_bad_annotation_says_why(kind):
    annotation, reason = BAD_2D[kind]
    with pytest.raises(PoseSampleError, match=reason.replace('(', r'\(').replace(')', r'\)')):
        pose_sample(annotation, 17, 2, max_frame=8)


def test_a_good_annotation_passes_the_same_checks():
    assert pose_sample(GOOD_2D, 17, 2, max_frame=8)[1] == 4


@pytest.mark.parametrize('label,reason', [(10, 'not one of the 10 classes'), (-1, 'not one of'),
                                          (None, 'not a class number'),
                                          (True, 'not a class number'),
                                          ('3', 'not a class number')])
def test_labels_outside_the_classes(label, reason):
    with pytest.raises(PoseSampleError, match=reason):
        read_label({'label': label}, 10)
    assert read_label({'label': np.int64(9)}, 10) == 9
