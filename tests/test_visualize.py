"""-v: confusion matrix, per-class accuracy, misclassified samples and class activation maps."""
import csv
import pickle

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

import main
import visualizer
from helpers import run_main, tiny_config
from utils.config import load_config
from dataset.ntu_feeder import NTU_Feeder
from fake_data import write_generated_split
from initializer import build_model
from model.checkpoint import load_checkpoint, load_model_state, model_state_of
from random_weights import randomise

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def write_yaml(cfg, path):
    path.write_text(yaml.safe_dump(cfg))
    return path


def newest_run_dir(work_dir):
    return max(work_dir.glob('*/*/log.txt'), key=lambda p: p.stat().st_mtime_ns).parent


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def assert_png(path, min_side=200):
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f'{path.name} is not a PNG'
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == 'PNG' and min(image.size) >= min_side, (path.name, image.size)
        assert len(np.unique(np.asarray(image.convert('L')))) > 5, f'{path.name} looks blank'
        return image.size


def feeder_of(cfg, graph):
    args = cfg['dataset_args']['ntu']
    return NTU_Feeder('eval', cfg['dataset'], args, graph.connect_joint)


def check_outputs(run_dir, feeder, num_class, cam_samples):
    """Every picture a valid PNG; the tables agree with eval_scores.pkl. Returns picture sizes."""
    pictures = ['confusion_matrix.png', 'per_class_accuracy.png'] + \
        [f'cam_{feeder.names[i]}.png' for i in cam_samples]
    sizes = {name: assert_png(run_dir / name) for name in pictures}
    assert sorted(p.name for p in run_dir.glob('*.png')) == sorted(pictures)

    scores = pickle.load(open(run_dir / 'eval_scores.pkl', 'rb'))
    names, labels = feeder.names, feeder.labels
    predicted = np.array([scores[n].argmax() for n in names])

    per_class = read_csv(run_dir / 'per_class_accuracy.csv')
    assert sorted(int(r['class']) for r in per_class) == list(range(1, num_class + 1))
    assert sum(int(r['samples']) for r in per_class) == len(names)
    assert sum(int(r['correct']) for r in per_class) == int((predicted == labels).sum())
    accuracy = [float(r['accuracy']) for r in per_class if r['accuracy']]
    assert accuracy == sorted(accuracy), 'worst class first'
    assert len(accuracy) == len(set(labels.tolist()))

    wrong = read_csv(run_dir / 'misclassified.csv')
    expected = [n for n, p, y in zip(names, predicted, labels) if p != y]
    assert sorted(r['sample'] for r in wrong) == sorted(expected)
    for row in wrong:
        i = int(row['index'])
        assert row['sample'] == names[i] and int(row['true_class']) == labels[i] + 1
        assert int(row['predicted_class']) == predicted[i] + 1
        assert 0 < float(row['probability']) <= 1
    return sizes


def direct_cam(net, inputs):
    """Logits, and every class's CAM computed here from net(x) and the classifier weights."""
    net.eval()
    with paddle.no_grad():
        logits, feature = net(paddle.to_tensor(inputs[None]))
    weight = net.classifier.fc.weight.numpy().reshape(logits.shape[1], -1).astype(np.float64)
    feature = feature.numpy()[0].astype(np.float64)                       # (C', T', V, M)
    return logits.numpy()[0], np.tensordot(weight, feature, axes=(1, 0))  # (K, T', V, M)


def assert_cam_decomposes_logits(net, feeder, index):
    """The visualiser's CAM equals the direct one, and summed over joints, frames and bodies
    (divided by their count) plus the bias it gives back every logit."""
    weight, bias = visualizer.classifier_weights(net)
    sample = visualizer.SampleCam(net, feeder, index, weight, bias)
    logits, cams = direct_cam(net, feeder[index][0])
    np.testing.assert_allclose(sample.logits, logits, rtol=1e-5, atol=1e-5)
    for k in range(len(logits)):
        cam = sample.cam(k)
        np.testing.assert_allclose(cam, cams[k], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cam.sum(axis=1), cams[k].sum(axis=1), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(cam.sum() / cam.size + bias[k], logits[k], rtol=1e-4,
                                   atol=1e-4)
    return sample


# ---------------------------------------------------------------- published checkpoint, real files
@pytest.fixture
def real_generated_config(tmp_path, real_skeleton_dir):
    generator = pytest.importorskip('generator')
    cfg = load_config('2001')
    ntu = cfg['dataset_args']['ntu']
    ntu.update(ntu60_path=str(real_skeleton_dir), root_folder=str(tmp_path / 'npy'))
    cfg.update(work_dir=str(tmp_path / 'work'), gpus=[], no_progress_bar=True)
    generator.generate(cfg, progress=False)
    return cfg


def test_xsub_checkpoint_on_real_files_writes_every_picture(tmp_path, pretrained_dir,
                                                            real_generated_config):
    cfg = real_generated_config
    checkpoint = pretrained_dir / 'xsub.pdparams'
    net, graph, _, num_class = build_model(cfg)
    load_model_state(net, model_state_of(load_checkpoint(checkpoint)), checkpoint)
    feeder = feeder_of(cfg, graph)
    two_bodies = next(i for i in range(len(feeder)) if np.any(feeder.data[i, ..., 1] != 0))
    samples = sorted({0, two_bodies})

    result = run_main('-c', write_yaml(cfg, tmp_path / 'real.yaml'), '-v', '-pp', checkpoint,
                      '-vs', *samples)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = newest_run_dir(tmp_path / 'work')
    check_outputs(run_dir, feeder, num_class, samples)
    log = (run_dir / 'log.txt').read_text()
    assert f'Wrote {run_dir / "confusion_matrix.png"}' in log and 'Top-1 accuracy' in log

    # The CAM of the drawn sample, recomputed directly from the feature map and the classifier.
    sample = assert_cam_decomposes_logits(net, feeder, two_bodies)
    assert sample.feature.shape[1:] == (72, 25, 2)   # 288 frames / stride 4


# ---------------------------------------------------------------- CAM arithmetic, no files needed
def test_cam_sums_to_what_feature_map_and_classifier_weights_give(tmp_path):
    cfg = tiny_config(load_config('2001'), tmp_path, tmp_path / 'work', num_frame=20)
    write_generated_split(tmp_path / 'original' / 'ntu-xsub', 'eval', [3, 7, 11], frames=40)
    net, graph, _, _ = build_model(cfg)
    randomise(net, seed=3)
    assert_cam_decomposes_logits(net, feeder_of(cfg, graph), index=1)


def test_frames_map_to_the_feature_step_centred_on_them():
    stride = visualizer.temporal_stride(load_config('2001')['model_args']['block_args'])
    assert stride == 4
    steps = visualizer.feature_steps([0, 1, 2, 5, 287], stride, num_steps=72)
    assert steps.tolist() == [0, 0, 0, 1, 71]
    assert visualizer.default_frames(length=103, num_frame=288) == [0, 15, 29, 44, 58, 73, 87, 102]
    assert visualizer.default_frames(length=300, num_frame=16)[-1] == 15
    assert visualizer.default_frames(length=3, num_frame=16) == [0, 1, 2]


# ---------------------------------------------------------------- 120 classes, reuse, bad options
@pytest.fixture
def ntu120_setup(tmp_path):
    """Config 2003 on 12 fake samples with labels up to 119, and a random checkpoint."""
    labels = [0, 5, 59, 60, 61, 99, 118, 119, 5, 60, 119, 0]
    write_generated_split(tmp_path / 'data' / 'original' / 'ntu-xsub120', 'eval', labels,
                          frames=40, seed=2)
    cfg = tiny_config(load_config('2003'), tmp_path / 'data', tmp_path / 'work', num_frame=16)
    net, graph, _, num_class = build_model(cfg)
    randomise(net, seed=5)
    checkpoint = tmp_path / 'random120.pdparams'
    paddle.save({'model': net.state_dict()}, str(checkpoint))
    return cfg, write_yaml(cfg, tmp_path / 'ntu120.yaml'), checkpoint, feeder_of(cfg, graph)


@pytest.mark.slow
def test_120_class_model_writes_the_pictures_and_reuses_only_its_own_scores(tmp_path,
                                                                            ntu120_setup):
    cfg, config, checkpoint, feeder = ntu120_setup
    work_dir = tmp_path / 'work'
    args = ['-c', config, '-v', '-pp', checkpoint, '-vs', 0, 7, '-vc', 120, '-vf', 0, 9, 15]
    first = run_main(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    first_dir = newest_run_dir(work_dir)
    sizes = check_outputs(first_dir, feeder, 120, [0, 7])
    assert min(sizes['confusion_matrix.png']) > 2000   # room for 120 named rows

    # Same checkpoint and data: the scores are reused, not recomputed.
    second = run_main(*args)
    assert second.returncode == 0, second.stderr[-3000:]
    second_dir = newest_run_dir(work_dir)
    assert second_dir != first_dir
    log = (second_dir / 'log.txt').read_text()
    assert 'Reusing the eval scores' in log and 'Evaluating time' not in log
    assert pickle.load(open(second_dir / 'eval_scores.pkl', 'rb')).keys() == \
        pickle.load(open(first_dir / 'eval_scores.pkl', 'rb')).keys()
    check_outputs(second_dir, feeder, 120, [0, 7])

    # A different checkpoint under the same path is evaluated again.
    net, *_ = build_model(cfg)
    randomise(net, seed=6)
    paddle.save({'model': net.state_dict()}, str(checkpoint))
    third = run_main(*args)
    assert third.returncode == 0, third.stderr[-3000:]
    log = (newest_run_dir(work_dir) / 'log.txt').read_text()
    assert 'Reusing' not in log and 'Evaluating time' in log


@pytest.mark.parametrize('option, message', [
    (['-vs', '12'], '-vs 12 is not an eval sample index: the eval split has 12 samples'),
    (['-vc', '121'], '-vc 121 is not a class of this dataset: give 1..120'),
    (['-vf', '16'], '-vf 16 is not a frame the model sees: give 0..15'),
])
def test_bad_visualisation_options_are_one_line_errors(tmp_path, ntu120_setup, capsys, option,
                                                       message):
    _, config, checkpoint, _ = ntu120_setup
    assert main.main(['-c', str(config), '-v', '-pp', str(checkpoint), *option]) == 1
    assert capsys.readouterr().err.startswith(f'error: {message}')
    assert not (tmp_path / 'work').exists(), 'checked before a run folder is made'
