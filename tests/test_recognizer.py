"""deploy.Recognizer from a script: one loaded model predicting skeleton files, pose annotations
(a pickle or its content) and arrays of the same samples to the same logits, and to infer.py's;
results that say what they are; bad input left out and named; videos in windows."""
import json
import pickle

import numpy as np
import pytest

from deploy import InferError, Recognizer
from reader import load_sample, parse_name, write_synthetic_dataset
from test_infer import infer, small_model  # noqa: F401 - small_model is a fixture
from utils import metrics


@pytest.fixture(scope='module')
def recognizer(small_model):  # noqa: F811
    return Recognizer(small_model, batch_size=2, cpu_threads=1)


def check_results(predictions, names, labels, class_names):
    assert predictions.names == names and predictions.labels == labels
    assert predictions.skipped == []
    for p in predictions:
        probs = metrics.softmax(p.logits.astype(np.float64)[None])[0]
        indices = [index for index, _, _ in p.top_k]
        assert indices == list(np.argsort(-probs, kind='stable')[:5])
        assert [name for _, name, _ in p.top_k] == [class_names[i] for i in indices]
        assert [prob for _, _, prob in p.top_k] == pytest.approx(probs[indices], abs=1e-9)
        assert (p.class_index, p.class_name, p.probability) == p.top_k[0]


def test_files_poses_and_arrays_of_the_same_samples_give_the_same_logits(
        recognizer, small_model, tmp_path):  # noqa: F811
    from pose_files import write_ntu_annotations
    files = sorted(write_synthetic_dataset(tmp_path / 'skeletons', actions=(1, 2, 3),
                                           samples_per_action=1, frames=40))
    names = [f.name.split('.')[0] for f in files]
    labels = [parse_name(f.name)['action'] - 1 for f in files]
    runner = recognizer.runner
    by_files = recognizer.predict_skeletons(tmp_path / 'skeletons')
    check_results(by_files, names, labels, recognizer.class_names)
    pose_file = write_ntu_annotations(files, tmp_path / 'poses.pkl')
    content = pickle.loads(pose_file.read_bytes())
    data = np.stack([load_sample(str(f), transform=recognizer.deploy['transform'])[0]
                     for f in files])
    others = {'pickle': recognizer.predict_poses(pose_file),
              'content': recognizer.predict_poses(content['annotations']),
              'arrays': recognizer.predict_arrays(data, labels, names)}
    for name, predictions in others.items():
        check_results(predictions, names, labels, recognizer.class_names)
        np.testing.assert_allclose(predictions.logits, by_files.logits, rtol=0, atol=1e-5,
                                   err_msg=name)
    content['split']['mine'] = [names[2], names[0]]
    mine = recognizer.predict_poses(content, split='mine')
    assert mine.names == [names[2], names[0]]
    np.testing.assert_allclose(mine.logits, by_files.logits[[2, 0]], rtol=0, atol=1e-5)
    assert recognizer.runner is runner   # loaded once
    assert np.ptp(by_files.logits, axis=0).max() > 1e-3   # the samples differ: a real comparison
    result = infer(small_model, '--skeleton', tmp_path / 'skeletons', '--output',
                   tmp_path / 'out.json')
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / 'out.json').read_text())   # infer.py: the same API
    assert list(written) == names
    assert [written[n]['pred'] for n in names] == [p.class_index for p in by_files]
    np.testing.assert_allclose([written[n]['logits'] for n in names], by_files.logits, rtol=0,
                               atol=1e-4)


def test_bad_input_is_left_out_and_named_and_bad_options_are_errors(recognizer, small_model,
                                                                    tmp_path, capsys):  # noqa: F811
    good = write_synthetic_dataset(tmp_path, actions=(1,), samples_per_action=1, frames=40)
    bad = tmp_path / 'S001C001P001R001A003.skeleton'
    bad.write_text('40\n1\nnot a body line\n')
    predictions = recognizer.predict_skeletons([*good, bad])
    assert predictions.names == [good[0].name.split('.')[0]]
    assert predictions.skipped == [str(bad)]
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and bad.name in errors[0]
    with pytest.raises(InferError, match='does not fit'):
        recognizer.predict_arrays(np.zeros((2, 3, 40, 24, 2), np.float32))
    with pytest.raises(InferError, match="unknown runtime option 'use_cuda'"):
        Recognizer(small_model, use_cuda=True)
    with pytest.raises(InferError, match='batch size must be at least 1'):
        Recognizer(small_model, batch_size=0)
    with pytest.raises(InferError, match='does not exist'):
        Recognizer(tmp_path / 'absent.json')


def test_a_video_is_its_windows(recognizer, clips, clip_poses, monkeypatch):
    """predict_video on the drink clip (its poses read once for the run), a window every 20
    frames: the windows as results (logits and top-k of the JSON entry, starts 20 frames apart)
    and the video's action, the class of highest mean probability."""
    from conftest import DRINK_CLIP
    from deploy import video_pipeline
    monkeypatch.setattr(video_pipeline, 'video_poses',
                        lambda path, progress=None, **_: clip_poses[DRINK_CLIP])
    result = recognizer.predict_video(clips[DRINK_CLIP], stride=20)
    assert result.name == clips[DRINK_CLIP].stem and len(result.windows) > 2
    starts = [w.start_frame for w in result.windows]
    assert all(b - a == 20 for a, b in zip(starts[:-2], starts[1:-1])), starts
    for window, entry in zip(result.windows, result.entry['windows']):
        np.testing.assert_array_equal(window.logits, np.float32(entry['logits']))
        assert [list(top) for top in window.top_k] == entry['top5']
        assert (window.start_s, window.end_s) == (entry['start_s'], entry['end_s'])
    logits = np.stack([w.logits for w in result.windows])
    mean = metrics.softmax(logits.astype(np.float64)).mean(axis=0)
    assert result.class_index == int(mean.argmax())
    assert result.class_name == recognizer.class_names[result.class_index]
