"""Kinetics-skeleton as ST-GCN distributes it (reader/kinetics.py, a row of dataset/sources.py):
read as ST-GCN's feeder reads it, generated and predicted through the one annotation path. The
fixture is written in that layout by tests/fixtures/make_kinetics_skeleton.py."""
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from deploy.messages import InferError
from deploy.sources import skeleton as skeleton_source
from generator import generate
from reader import pose_sample, write_synthetic_dataset
from reader.kinetics import clip_annotation
from utils.config import load_config
from utils.errors import ConfigError

FIXTURE = Path(__file__).resolve().parent / 'fixtures' / 'kinetics-skeleton'
CLIPS = sorted(FIXTURE.glob('kinetics_*/*.json'))


def st_gcn_feeder_data(path, num_person_in=5, frames=300):
    """What ST-GCN's Feeder_kinetics makes of a clip before it centres the coordinates: (3, T,
    18, num_person_in) x, y, score, the persons of each frame ordered by their summed score."""
    clip = json.loads(Path(path).read_text())
    data = np.zeros((3, frames, 18, num_person_in))
    for frame in clip['data']:
        for m, person in enumerate(frame['skeleton'][:num_person_in]):
            data[0, frame['frame_index'], :, m] = person['pose'][0::2]
            data[1, frame['frame_index'], :, m] = person['pose'][1::2]
            data[2, frame['frame_index'], :, m] = person['score']
    order = np.argsort(-data[2].sum(axis=1), axis=1, kind='stable')
    for t, persons in enumerate(order):
        data[:, t] = data[:, t][:, :, persons]
    return data


@pytest.mark.parametrize('path', [p for p in CLIPS if 'zz4Ot' not in p.name], ids=lambda p: p.stem)
def test_a_clip_is_what_st_gcns_feeder_reads(path):
    annotation = clip_annotation(path)
    expected = st_gcn_feeder_data(path)
    persons, frames = annotation['keypoint'].shape[:2]
    assert persons <= 5 and not expected[:, frames:].any() and not expected[..., persons:].any()
    got = np.concatenate([annotation['keypoint'], annotation['keypoint_score'][..., None]], -1)
    np.testing.assert_allclose(got.transpose(3, 1, 2, 0), expected[:, :frames, :, :persons],
                               atol=1e-6)
    clip = json.loads(path.read_text())
    assert annotation['label'] == clip['label_index'] and annotation['frame_dir'] == path.stem
    assert annotation['img_shape'] == (1, 1) and annotation['total_frames'] == frames


def kinetics_config(tmp_path, data_path=FIXTURE):
    cfg = load_config('1001')   # any config: its dataset is replaced
    cfg['dataset'] = 'kinetics-skeleton'
    cfg['dataset_args'] = {'kinetics': {
        'data_path': str(data_path), 'root_folder': str(tmp_path / 'out'), 'num_workers': 2,
        'class_names': str(FIXTURE / 'label_name.txt'), 'train_batch_size': 2,
        'eval_batch_size': 2, 'num_frame': 8, 'inputs': 'JVB'}}
    return cfg


def test_gd_writes_each_clip_through_the_annotation_path(tmp_path):
    summary = generate(kinetics_config(tmp_path), progress=False)
    assert summary['train'] == {'kept': 2, 'skipped': 1} and summary['eval']['kept'] == 1
    out = Path(summary['out_dir'])
    for phase, part in (('train', 'train'), ('eval', 'val')):
        paths = sorted((FIXTURE / f'kinetics_{part}').glob('*.json'))
        paths = [p for p in paths if json.loads(p.read_text())['data']]
        names, labels, lengths = pickle.loads((out / f'{phase}_label.pkl').read_bytes())
        assert names == [p.stem for p in paths]
        assert labels == [json.loads(p.read_text())['label_index'] for p in paths]
        data = np.load(out / f'{phase}_data.npy')
        assert data.shape == (len(paths), 3, 300, 18, 2)
        for row, path in zip(data, paths):
            np.testing.assert_array_equal(row, pose_sample(clip_annotation(path), 18, 2, 300)[0])
    assert (out / 'skipped.txt').read_text() == \
        'zz4OtXvzS9Q: has_skeleton is false in its label file\n'


def test_the_config_section_is_known_and_its_settings_fixed(tmp_path):
    from dataset import class_names, dataset_info, input_format
    from utils.config import check_keys
    cfg = kinetics_config(tmp_path)
    check_keys(cfg, 'the test config')
    num_class, graph, shape = dataset_info(cfg['dataset'], cfg['dataset_args'])
    assert (num_class, graph.num_node, shape) == (400, 18, [3, 6, 8, 18, 2])
    assert input_format(cfg['dataset'], cfg['dataset_args'])['keypoint_dim'] == 2
    with pytest.raises(ConfigError, match='names 3 classes but num_class is 400'):
        class_names(cfg['dataset'], cfg['dataset_args'], num_class)


def test_a_bad_clip_is_skipped_and_a_bad_folder_is_one_line(tmp_path):
    data_path = tmp_path / 'kinetics-skeleton'
    shutil.copytree(FIXTURE, data_path)
    (data_path / 'kinetics_val' / '0lYt3G1A_xI.json').write_text('{"data": [{"frame_index": 1}]')
    summary = generate(kinetics_config(tmp_path, data_path), progress=False)
    assert summary['eval'] == {'kept': 0, 'skipped': 1}
    assert '0lYt3G1A_xI: not JSON' in (Path(summary['out_dir']) / 'skipped.txt').read_text()
    with pytest.raises(ConfigError, match=r"^dataset_args.kinetics.data_path is '.*absent'"):
        generate(kinetics_config(tmp_path, tmp_path / 'absent'), progress=False)


DEPLOY = {'layout': 'kinetics', 'keypoint_dim': 2, 'input_shape': [3, 6, 288, 18, 2],
          'max_frame': 300, 'transform': False, 'num_class': 400, 'num_frame': 288}


def test_infer_reads_clips_as_gd_does(tmp_path):
    """deploy's --skeleton source: a folder gives the files of the sources the model takes (the
    clips, not an NTU file beside them); each is the sample -gd writes."""
    folder = tmp_path / 'clips'
    shutil.copytree(FIXTURE / 'kinetics_train', folder)
    ntu_file = write_synthetic_dataset(folder, actions=(1,), samples_per_action=1)[0]
    failures = []
    samples = list(skeleton_source.open_samples([folder], DEPLOY,
                                                failures))
    assert failures == [str(folder / 'zz4OtXvzS9Q.json')]   # no skeleton: an error line
    assert [(name, label) for name, _, label in samples] == \
        [('-3B32lodo2M', 0), ('AbQh7NzJm0s', 1)]
    for (name, sample, _), path in zip(samples, sorted(folder.glob('[-A]*.json'))):
        np.testing.assert_array_equal(sample, pose_sample(clip_annotation(path), 18, 2, 300)[0])
    with pytest.raises(InferError, match=r'\.skeleton files \(ntu \.skeleton files\) hold 3D '
                                         r'ntu poses, but this model takes 2D poses in the '
                                         r'kinetics layout'):
        list(skeleton_source.open_samples([ntu_file], DEPLOY, []))


KINETICS_CONFIG = '''_base_: _base_/efficientgcn.yaml
gpus: []
work_dir: {work_dir}
dataset: kinetics-skeleton
dataset_args:
  kinetics:
    data_path: {data_path}
    root_folder: {root_folder}
    train_batch_size: 2
    eval_batch_size: 2
    num_frame: 16
    inputs: JVB
'''


@pytest.mark.slow
def test_an_exported_kinetics_model_predicts_clips_as_their_arrays(tmp_path):
    """-gd and -ex of a kinetics-skeleton config (a random B0); infer.py --skeleton on the clips
    gives the logits infer.py --data_file gives on -gd's arrays."""
    from helpers import export, run_main
    from test_infer import error_lines, infer, logits_of, random_checkpoint
    config = tmp_path / 'kinetics.yaml'
    config.write_text(KINETICS_CONFIG.format(work_dir=tmp_path / 'work', data_path=FIXTURE,
                                             root_folder=tmp_path / 'npy'))
    result = run_main('-c', config, '-gd')
    assert result.returncode == 0, result.stderr[-3000:]
    random_checkpoint(load_config(str(config)), tmp_path / 'random.pdparams')
    model_file = export(tmp_path / 'random.pdparams', config)
    arrays = tmp_path / 'npy' / 'original' / 'kinetics-skeleton'
    outputs = {'clips': ['--skeleton', FIXTURE / 'kinetics_train', FIXTURE / 'kinetics_val'],
               'arrays': ['--data_file', arrays / 'train_data.npy', '--label_file',
                          arrays / 'train_label.pkl']}
    logits = {}
    for name, args in outputs.items():
        result = infer(model_file, *args, '--output', tmp_path / f'{name}.json')
        assert result.returncode == 0, result.stderr
        logits[name], _ = logits_of(tmp_path / f'{name}.json', ['-3B32lodo2M', 'AbQh7NzJm0s'] +
                                    (['0lYt3G1A_xI'] if name == 'clips' else []))
        if name == 'clips':   # the clip without skeletons is an error line, the others go on
            empty = FIXTURE / 'kinetics_train' / 'zz4OtXvzS9Q.json'
            assert error_lines(result) == [f'error: {empty}: no frames'], result.stderr
    np.testing.assert_array_equal(logits['clips'][:2], logits['arrays'])
    assert np.ptp(logits['arrays']) > 0
