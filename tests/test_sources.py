"""dataset/sources.py: every source is a row, looked up by the dataset's name, and its
annotations go through one -gd path; the real NTU files still give the bytes they gave."""
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import dataset
from dataset.sources import SOURCES, Source, file_source, source_of
from generator import GenerateError, generate
from reader import pose_sample
from utils.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
sys.path.insert(0, str(FIXTURES))
from make_shared_ntu_digests import (DIGESTS, RUNS, generation_config,  # noqa: E402
                                     output_digests)

TOY = Source('toy', 'toy annotations', 'reader.pose:as_annotation', 'test_sources:toy_lister',
             layout='sysu', keypoint_dim=3, max_frame=20, class_names=None,
             classes={'toy-a': 4, 'toy-b': 7})


def toy_annotation(name, label, frames=12, persons=3):
    rng = np.random.default_rng(list(name.encode()))
    return {'frame_dir': name, 'label': label, 'total_frames': frames,
            'keypoint': rng.normal(size=(persons, frames, 20, 3)).astype(np.float32)}


def toy_lister(name, args, settings, progress=True):
    """A source's lister: 3 train samples (one with a label out of range), 2 eval ones."""
    train = [(f't{i}', toy_annotation(f't{i}', label)) for i, label in enumerate((0, 9, 3))]
    evaluated = [(f'e{i}', toy_annotation(f'e{i}', i, frames=30)) for i in range(2)]
    return {'phases': {'train': (train, [('t-missing', 'not in the toy file')]),
                       'eval': (evaluated, [])}}


@pytest.fixture
def toy_source(monkeypatch):
    monkeypatch.setitem(SOURCES, 'toy', TOY)   # the forked -gd workers inherit it


def test_the_dataset_name_is_looked_up_in_the_table(toy_source):
    args = {'toy': {'inputs': 'JV', 'num_frame': 16, 'layout': 'coco', 'num_class': 99}}
    num_class, graph, shape = dataset.dataset_info('toy-b', args)
    assert (num_class, graph.num_node, shape) == (7, 20, [2, 6, 16, 20, 2])   # the row wins
    assert dataset.input_format('toy-a', args)['source'] == 'toy annotations'
    assert dataset.class_names('toy-a', args, 4) == [f'class {i}' for i in range(4)]
    assert source_of('ntu-xset120') is SOURCES['ntu'] and source_of('pose-x') is SOURCES['pose']
    with pytest.raises(ConfigError, match="unknown dataset 'toy-c'; choose one of ntu-xsub, "
                                          r".*toy-a, toy-b or name a dataset pose-<name>"):
        dataset.dataset_info('toy-c', args)
    assert file_source('a/S001C001P001R001A001.skeleton') is SOURCES['ntu']
    assert file_source('clip.mp4') is None


def test_the_ntu_benchmarks_classes_are_reader_ntus():
    from reader.ntu import BENCHMARKS
    args = {'ntu': {'inputs': 'J', 'num_frame': 8}}
    assert {name: dataset.dataset_info(name, args)[0] for name in BENCHMARKS} == \
        {name: classes for name, (_, classes) in BENCHMARKS.items()}


def test_a_new_row_generates_through_the_one_path(toy_source, tmp_path):
    cfg = {'dataset': 'toy-a', 'dataset_args': {'toy': {'root_folder': str(tmp_path),
                                                        'num_workers': 2}}}
    summary = generate(cfg, progress=False)
    assert summary['train'] == {'kept': 2, 'skipped': 2} and summary['eval']['kept'] == 2
    out = Path(summary['out_dir'])
    listing = toy_lister('toy-a', {}, {})['phases']
    for phase, kept in (('train', [0, 2]), ('eval', [0, 1])):
        data = np.load(out / f'{phase}_data.npy')
        names, labels, lengths = pickle.loads((out / f'{phase}_label.pkl').read_bytes())
        samples = [listing[phase][0][i] for i in kept]
        assert names == [name for name, _ in samples]
        assert labels == [annotation['label'] for _, annotation in samples]
        for row, (_, annotation) in zip(data, samples):
            np.testing.assert_array_equal(row, pose_sample(annotation, 20, 3, 20)[0])
        assert lengths == [min(a['total_frames'], 20) for _, a in samples]
    assert (out / 'skipped.txt').read_text() == (
        't-missing: not in the toy file\nt1: label 9 is not one of the 4 classes (0-based)\n')


def test_an_unknown_source_cannot_be_generated(tmp_path):
    with pytest.raises(GenerateError, match="dataset 'toy-a' cannot be generated: unknown"):
        generate({'dataset': 'toy-a', 'dataset_args': {}}, progress=False)


def test_the_real_files_give_the_bytes_they_gave(real_skeleton_dir, tmp_path):
    """-gd of the 12 real files, as make_shared_ntu_digests.py recorded it from the code that
    read NTU files without pose annotations: X-sub raw, X-view pre-normalised, X-sub120."""
    expected = json.loads(DIGESTS.read_text())
    for benchmark, transform in RUNS:
        summary = generate(generation_config(benchmark, transform, real_skeleton_dir,
                                             tmp_path / benchmark), progress=False)
        assert output_digests(summary['out_dir']) == \
            expected[f'{benchmark} transform={transform}'], (benchmark, transform)
