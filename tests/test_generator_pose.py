"""-gd on pose-annotation pickles: the same arrays as the NTU path, bad samples skipped and named,
one-line errors for files that are not annotations, flat memory."""
import pickle
from pathlib import Path

import numpy as np
import pytest

from helpers import config_of, run_main
from generator import GenerateError, generate
from pose_files import (annotation_2d, annotation_3d, pose_config, write_ntu_annotations,
                        write_pickle)
from test_generator import outputs, peak_generation_memory



def skipped_lines(root, dataset):
    return (Path(root) / 'original' / dataset / 'skipped.txt').read_text().splitlines()


# ---------------------------------------------------------------- the 12 real NTU files
@pytest.mark.parametrize('ntu_config,pose_config_id', [('2001', '3001'), ('2002', '3002')])
def test_real_files_as_annotations_give_the_arrays_of_the_skeleton_files(
        tmp_path, real_skeleton_dir, ntu_config, pose_config_id):
    ann_file = write_ntu_annotations(real_skeleton_dir.glob('*.skeleton'), tmp_path / 'ntu.pkl')
    ntu = config_of(ntu_config, root_folder=str(tmp_path / 'ntu'),
                    ntu60_path=str(real_skeleton_dir))
    pose = config_of(pose_config_id, root_folder=str(tmp_path / 'pose'), ann_file=str(ann_file))
    generate(ntu, progress=False)
    summary = generate(pose, progress=False)
    transform = ntu_config == '2002'
    assert transform == pose['dataset_args']['pose']['transform']
    expected = outputs(tmp_path / 'ntu', ntu['dataset'], transform)
    got = outputs(tmp_path / 'pose', pose['dataset'], transform)
    for phase in ('train', 'eval'):
        np.testing.assert_array_equal(got[phase][0], expected[phase][0])
        assert got[phase][0].shape[1:] == (3, 300, 25, 2) and got[phase][0].any()
        assert got[phase][1:4] == expected[phase][1:4]       # names, labels, lengths
        assert summary[phase] == {'kept': len(expected[phase][1]), 'skipped': 0}
    assert got['train'][4] == got['train'][1]                 # rows listed by sample id


# ---------------------------------------------------------------- bad samples
def bad_annotations():
    """(good annotations, bad ones with the words their skip reason must hold)."""
    good = [annotation_2d(f'good{i}', i % 3, persons=1 + i % 3, frames=5 + i, seed=i)
            for i in range(4)]
    nan = annotation_2d('nan', 0, seed=9)
    nan['keypoint'][0, 1, 2, 0] = np.nan
    bad = [
        (annotation_2d('joints', 0, joints=25), 'shape (1, 10, 25, 2)'),
        (annotation_2d('frames', 0) | {'total_frames': 11}, 'total_frames is 11'),
        (nan, 'non-finite'),
        (annotation_2d('label', 10), 'label 10 is not one of the 10 classes'),
        (annotation_2d('score', 0) | {'keypoint_score': np.ones((1, 3, 17))}, 'keypoint_score'),
    ]
    return good, bad


def test_bad_samples_are_skipped_and_named_and_the_good_ones_kept(tmp_path, caplog):
    good, bad = bad_annotations()
    annotations = [good[0], bad[0][0], good[1], bad[1][0], bad[2][0], good[2], bad[3][0],
                   bad[4][0], good[3]]
    splits = {'train': [a['frame_dir'] for a in annotations] + ['absent'],
              'val': ['good3', 'good0']}
    ann_file = write_pickle(tmp_path / 'a.pkl', {'split': splits, 'annotations': annotations})
    cfg = pose_config(tmp_path / 'out', ann_file, max_frame=16)
    summary = generate(cfg, progress=False)
    assert summary['train'] == {'kept': 4, 'skipped': 6}
    assert summary['eval'] == {'kept': 2, 'skipped': 0}
    result = outputs(tmp_path / 'out', 'pose-demo')
    data, names, labels, lengths, _ = result['train']
    assert names == ['good0', 'good1', 'good2', 'good3'] and labels == [0, 1, 2, 0]
    assert lengths == [5, 6, 7, 8] and data.shape == (4, 3, 16, 17, 2)
    for row, annotation in enumerate(good):   # each row is its own sample, no gap
        persons = min(2, len(annotation['keypoint']))
        assert data[row, :, :lengths[row], :, :persons].any()
        assert not data[row, :, lengths[row]:].any()
    assert result['eval'][1] == ['good3', 'good0']
    lines = skipped_lines(tmp_path / 'out', 'pose-demo')
    assert len(lines) == 6
    assert lines[0] == "absent: in split 'train' but not in the annotations"
    for (annotation, reason), line in zip(bad, lines[1:]):
        assert line.startswith(f'{annotation["frame_dir"]}: ') and reason in line, line
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith('skipped ')]
    assert len(logged) == 6


def test_annotations_without_frame_dir_are_counted_and_named_by_position(tmp_path, caplog):
    """No split can name them: each is a skipped.txt line with its file and position, and one
    warning counts them; the named ones are converted as usual."""
    annotations = [annotation_2d('a', 0), annotation_2d(None, 1), annotation_2d('b', 2),
                   annotation_2d(None, 3)]
    for annotation in annotations[1::2]:
        del annotation['frame_dir']
    ann_file = write_pickle(tmp_path / 'a.pkl', {'split': {'train': ['a'], 'val': ['b']},
                                                 'annotations': annotations})
    summary = generate(pose_config(tmp_path / 'out', ann_file, max_frame=16), progress=False)
    assert summary['train']['kept'] == summary['eval']['kept'] == 1 and summary['unnamed'] == 2
    assert skipped_lines(tmp_path / 'out', 'pose-demo') == [
        f'{ann_file}: annotation #{i}: no frame_dir, so no split names it' for i in (1, 3)]
    counted = [r.getMessage() for r in caplog.records if 'have no frame_dir' in r.getMessage()]
    assert len(counted) == 1 and counted[0].startswith('2 annotations have no frame_dir')


def test_a_split_without_samples_is_one_line_before_any_output(tmp_path):
    """An empty split, or one naming none of the annotations: a GenerateError (one error line
    from main.py) and the last run's arrays left as they were."""
    good = write_pickle(tmp_path / 'good.pkl', {'split': {'train': ['a'], 'val': ['b']},
                                                'annotations': [annotation_2d('a', 0),
                                                                annotation_2d('b', 1)]})
    generate(pose_config(tmp_path / 'out', good), progress=False)
    old = tmp_path / 'out' / 'original' / 'pose-demo' / 'train_data.npy'
    written = old.read_bytes()
    empty = write_pickle(tmp_path / 'empty.pkl', {'split': {'train': [], 'val': []},
                                                  'annotations': []})
    with pytest.raises(GenerateError, match=r"empty.pkl: split 'train' is empty .*: set "
                                            'dataset_args.pose.train_split'):
        generate(pose_config(tmp_path / 'out', empty), progress=False)
    unknown = write_pickle(tmp_path / 'unknown.pkl', {'split': {'train': ['a'], 'val': ['zz']},
                                                      'annotations': [annotation_2d('a', 0)]})
    with pytest.raises(GenerateError, match=r"split 'val' names 1 samples, none of which"):
        generate(pose_config(tmp_path / 'out', unknown), progress=False)
    assert old.read_bytes() == written
    line = gd_error(tmp_path, f'dataset_args.pose.ann_file={empty}')
    assert str(empty) in line and "split 'train' is empty" in line


def test_a_list_of_annotations_with_an_eval_file(tmp_path):
    train = write_pickle(tmp_path / 'train.pkl', [annotation_3d(f't{i}', i) for i in range(3)])
    val = write_pickle(tmp_path / 'val.pkl', [annotation_3d('v0', 1, persons=2)])
    cfg = pose_config(tmp_path / 'out', train, layout='ntu', keypoint_dim=3, max_frame=12,
                      eval_ann_file=str(val))   # split names do not apply to bare lists
    summary = generate(cfg, progress=False)
    assert summary['train']['kept'] == 3 and summary['eval']['kept'] == 1
    result = outputs(tmp_path / 'out', 'pose-demo')
    assert result['train'][1] == ['t0', 't1', 't2'] and result['eval'][2] == [1]
    assert result['eval'][0].shape == (1, 3, 12, 25, 2)


# ---------------------------------------------------------------- one-line errors
def gd_error(tmp_path, *sets):
    args = ['-c', '1002', '-gd', '-np', '--set', f'dataset_args.pose.root_folder={tmp_path}/o']
    for item in sets:
        args += ['--set', item]
    result = run_main(*args)
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_files_that_are_not_annotations_are_one_line_errors(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not a pickle')
    line = gd_error(tmp_path, f'dataset_args.pose.ann_file={text}')
    assert 'notes.txt is not a pose-annotation pickle' in line and 'ann_file' in line
    other = write_pickle(tmp_path / 'other.pkl', {'some': 'dict'})
    assert 'holds a dict, not a pose-annotation pickle' in gd_error(
        tmp_path, f'dataset_args.pose.ann_file={other}')
    three_d = write_pickle(tmp_path / '3d.pkl', [annotation_3d('a', 0)])
    assert 'holds 3D keypoints but the config says keypoint_dim 2' in gd_error(
        tmp_path, f'dataset_args.pose.ann_file={three_d}')
    two_d = write_pickle(tmp_path / '2d.pkl', {'split': {'a': []}, 'annotations': []})
    assert "has no split 'train' (its splits: a)" in gd_error(
        tmp_path, f'dataset_args.pose.ann_file={two_d}')
    assert 'dataset_args.pose.layout' in gd_error(tmp_path, 'dataset_args.pose.layout=hand')
    assert 'dataset_args.pose.transform' in gd_error(tmp_path, 'dataset_args.pose.transform=True')


def test_a_missing_annotation_file_is_named(tmp_path):
    cfg = pose_config(tmp_path / 'out', tmp_path / 'absent.pkl')
    with pytest.raises(GenerateError, match='cannot read .*absent.pkl'):
        generate(cfg, progress=False)


# ---------------------------------------------------------------- memory
def peak_memory(root, ann_file):
    return peak_generation_memory(pose_config(root, ann_file, layout='ntu', keypoint_dim=3,
                                              max_frame=300))


@pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='needs Linux /proc')
def test_peak_memory_does_not_grow_with_the_number_of_samples(tmp_path):
    """Each row written is 180 KB; the annotations it comes from 4.8 KB (16 frames)."""
    def write(path, count):
        annotations = [annotation_3d(f's{i}', i % 10, frames=16, seed=i) for i in range(count)]
        names = [a['frame_dir'] for a in annotations]
        return write_pickle(path, {'split': {'train': names[::2], 'val': names[1::2]},
                                   'annotations': annotations})
    few, many = 50, 200
    small = peak_memory(tmp_path / 'out_few', write(tmp_path / 'few.pkl', few))
    large = peak_memory(tmp_path / 'out_many', write(tmp_path / 'many.pkl', many))
    extra_output = (many - few) * 3 * 300 * 25 * 2 * 4     # 27 MB more written
    assert large - small < 0.3 * extra_output, (small, large)
    with open(tmp_path / 'out_many' / 'original' / 'pose-demo' / 'train_label.pkl', 'rb') as f:
        assert len(pickle.load(f)[0]) == many // 2


def test_a_list_file_cannot_serve_both_splits(tmp_path):
    listed = write_pickle(tmp_path / 'l.pkl', [annotation_2d('a', 0)])
    with pytest.raises(GenerateError, match='without splits: set dataset_args.pose.eval_ann_file'):
        generate(pose_config(tmp_path / 'out', listed), progress=False)


def test_a_file_with_splits_needs_the_split_names(tmp_path):
    ann_file = write_pickle(tmp_path / 'a.pkl', {'split': {'train': ['a'], 'test': ['a']},
                                                 'annotations': [annotation_2d('a', 0)]})
    wanted = r'no eval split named: set dataset_args.pose.eval_split to one of the splits of '
    with pytest.raises(GenerateError, match=wanted + r'.* \(train, test\)'):
        generate(pose_config(tmp_path / 'out', ann_file, eval_split=None), progress=False)
    old = tmp_path / 'out' / 'original' / 'pose-demo'
    generate(pose_config(tmp_path / 'out', ann_file, eval_split='test'), progress=False)
    with pytest.raises(GenerateError, match="has no split 'val'"):
        generate(pose_config(tmp_path / 'out', ann_file), progress=False)
    assert (old / 'train_data.npy').is_file()   # a config error leaves the last output alone
