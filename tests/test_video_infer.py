"""infer.py --video and -gd from videos (dataset_args.pose.videos) on the real clips in
../shared/video, run as a user runs them (subprocesses). Skipped, with a message, without the
clips or without MediaPipe and OpenCV (requirements-video.txt)."""
import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import run_main, write_empty_room
from conftest import DRINK_CLIP, HUG_CLIP
from test_infer import SMALL, error_lines, export, infer
from utils.config import REPO_DIR, apply_overrides, load_config

DRINK_WATER = 0


def frame_count(path):
    import cv2
    capture, count = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        count += 1
    return count


@pytest.mark.slow
def test_xview_on_a_folder_of_clips_and_bad_videos(clips, exported_xview, tmp_path):
    """The exported X-view checkpoint on a folder with both clips, a text file, a truncated
    video and a video of nobody (and a path that does not exist): one error line each, the
    clips' windows and summaries printed, drink water in the top-5, the JSON and the drawn
    videos written with the clips' frame counts."""
    model_file = exported_xview
    folder = tmp_path / 'videos'
    folder.mkdir()
    for path in clips.values():
        (folder / path.name).symlink_to(path)
    (folder / 'notes.mp4').write_text('not a video\n')
    (folder / 'truncated.avi').write_bytes(clips[DRINK_CLIP].read_bytes()[:4096])
    write_empty_room(folder / 'empty_room.avi')
    drawn = tmp_path / 'drawn'
    result = infer(model_file, '--video', folder, tmp_path / 'absent.avi', '--mirrored',
                   '--output', tmp_path / 'out.json', '--save-video', drawn)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 4, result.stderr
    for name, reason in [('absent.avi', 'no such file'), ('notes.mp4', 'cannot decode'),
                         ('truncated.avi', 'cannot decode'),
                         ('empty_room.avi', 'no person found in any of its 8 frames')]:
        assert any(name in line and reason in line for line in errors), (name, errors)
    assert 'skipped 4 of 6 inputs' in result.stderr
    stem = Path(DRINK_CLIP).stem
    window_line = next(line for line in result.stdout.splitlines() if line.startswith(stem + ' '))
    assert '0.00-   3.43 s  (frames 0-102, 1 person)' in window_line
    summary = next(line for line in result.stdout.splitlines() if line.startswith(stem + ':'))
    assert '103 frames, a person in 103, 1 person tracked' in summary
    hug_line = next(line for line in result.stdout.splitlines() if line.startswith('ntu_sample '))
    assert '(frames 0-71, 2 people)' in hug_line
    results = json.loads((tmp_path / 'out.json').read_text())
    assert sorted(results) == ['S001C001P001R001A001_rgb', 'ntu_sample']
    drink = results[stem]
    assert [(w['start_frame'], w['end_frame']) for w in drink['windows']] == [(0, 103)]
    assert DRINK_WATER in [c for c, _, _ in drink['windows'][0]['top5']]
    assert len(drink['windows'][0]['logits']) == 60
    assert drink['summary']['pred'] == drink['windows'][0]['top5'][0][0]
    for name, frames in [(stem, 103), ('ntu_sample', 72)]:
        assert results[name]['frames'] == frames
        assert frame_count(drawn / f'{name}.avi') == frames


@pytest.fixture(scope='module')
def small_model(exported_xsub32):
    """The published X-sub weights as a 32-frame model (conftest.exported_xsub32) and its
    config."""
    return exported_xsub32, apply_overrides(load_config('2001'), SMALL)


def test_windows_every_stride_frames_give_the_dygraph_logits(clips, clip_poses, small_model,
                                                             tmp_path):
    """A 32-frame model on the 103-frame clip, a window every 20 frames: windows 0-31, 20-51,
    40-71, 60-91 and the last 71-102 (so the clip's end is covered), each the dygraph model's
    logits on that window's sample; the summary is the class of highest mean probability."""
    import paddle

    from dataset.inputs import build_inputs
    from initializer import build_model
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from reader import pose_sample
    from reader.video import video_annotation
    from utils import metrics
    model_file, cfg = small_model
    result = infer(model_file, '--video', clips[DRINK_CLIP], '--stride', '20', '--output',
                   tmp_path / 'out.json', '--top_k', '2')
    assert result.returncode == 0, result.stderr[-3000:]
    entry = json.loads((tmp_path / 'out.json').read_text())['S001C001P001R001A001_rgb']
    bounds = [(w['start_frame'], w['end_frame']) for w in entry['windows']]
    assert bounds == [(0, 32), (20, 52), (40, 72), (60, 92), (71, 103)]
    assert entry['windows'][1]['start_s'] == pytest.approx(20 / 30, abs=1e-3)
    assert len([line for line in result.stdout.splitlines() if ' s  (frames ' in line]) == 5
    net, graph, data_shape, _ = build_model(cfg)
    path = Path(model_file).with_suffix('.pdparams')
    load_model_state(net, model_state_of(load_checkpoint(path)), path)
    net.eval()
    poses = clip_poses[DRINK_CLIP]
    inputs = np.stack([
        build_inputs(pose_sample(video_annotation(poses.rows(range(start, end)), 'ntu', 3),
                                 25, 3, 300)[0][:, :data_shape[2]], 'JVB', graph.connect_joint)
        for start, end in bounds])
    with paddle.no_grad():
        expected = net(paddle.to_tensor(inputs))[0].numpy()
    logits = np.array([w['logits'] for w in entry['windows']])
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-3)
    assert np.ptp(expected, axis=0).max() > 0.5   # the windows differ: a real comparison
    mean_probs = metrics.softmax(expected.astype(np.float64)).mean(axis=0)
    assert entry['summary']['pred'] == int(mean_probs.argmax())


def without_mediapipe(tmp_path, *args):
    """python ARGS... with a mediapipe package on the path that cannot be imported."""
    hidden = tmp_path / 'hide'
    (hidden / 'mediapipe').mkdir(parents=True, exist_ok=True)
    (hidden / 'mediapipe' / '__init__.py').write_text(
        "raise ImportError('No module named mediapipe (hidden by the test)')\n")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(hidden), str(REPO_DIR)])}
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO_DIR, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)


def test_without_mediapipe_video_and_gd_are_one_line(clips, small_model, tmp_path):
    videos = tmp_path / 'videos' / 'drink'
    videos.mkdir(parents=True)
    (videos / 'a.avi').symlink_to(clips[DRINK_CLIP])
    for result in [without_mediapipe(tmp_path, 'infer.py', '--model_file', small_model[0],
                                     '--video', clips[DRINK_CLIP]),
                   without_mediapipe(tmp_path, 'main.py', '-gd',
                                     *gd_args(videos.parent, tmp_path / 'npy'))]:
        assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if 'error' in line.lower()]
        assert len(errors) == 1 and 'pip install -r requirements-video.txt' in errors[0], \
            result.stderr


def gd_args(videos, root):
    return ['-c', '1002', '-np', '--set', f'dataset_args.pose.videos={videos}',
            '--set', f'dataset_args.pose.root_folder={root}',
            '--set', 'dataset_args.pose.num_class=2',
            '--set', 'dataset_args.pose.train_batch_size=2']


def interrupt_once_cached(args, cache, timeout=300):
    """main.py ARGS in its own process group, killed (with its workers) as soon as the first
    video's poses are in the cache: an interrupted run."""
    process = subprocess.Popen([sys.executable, 'main.py', *map(str, args)], cwd=REPO_DIR,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while not glob.glob(str(cache / '*.npz')) and process.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    return len(glob.glob(str(cache / '*.npz')))


@pytest.mark.slow
def test_class_folders_of_videos_to_a_trained_2d_model_and_back(clips, tmp_path):
    """Two class folders of clips (a: the shared clip's first 48 frames, b: its first 40,
    written by the test) -> -gd (stopped after the first video, then run again: only the rest is extracted)
    -> one training epoch -> export -> infer.py --pose_file on the annotation -gd wrote, and
    --video on a clip: the clip's first window is the sample -gd made of it (the first
    max_frame frames), so both give the same logits."""
    from test_video_people import read_frames, write_clip
    videos = tmp_path / 'videos'
    for label, clip in (('drink', DRINK_CLIP), ('hug', HUG_CLIP)):
        (videos / label).mkdir(parents=True)
        frames = read_frames(clips[clip], limit=48)
        write_clip(videos / label / 'a.avi', frames, 30)
        write_clip(videos / label / 'b.avi', frames[:40], 30)
    (videos / 'hug' / 'broken.mp4').write_text('not a video\n')
    root = tmp_path / 'npy'
    cached = interrupt_once_cached(['-gd', *gd_args(videos, root)], root / 'video_poses')
    assert 1 <= cached < 4, f'{cached} videos cached when the run was stopped'
    result = run_main('-gd', *gd_args(videos, root))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    # the broken file is tried again on every run: it has no cache file
    assert f'video poses: {cached} of 5 cached, extracting {5 - cached}' in log
    assert 'train kept 4, skipped 1; eval kept 4, skipped 1' in log
    skipped = next(root.glob('original/*/skipped.txt')).read_text()
    assert 'hug/broken' in skipped and 'cannot decode' in skipped
    work = tmp_path / 'work'
    result = run_main('-w', work, *gd_args(videos, root),
                      '--set', 'scheduler_args.cosine.max_epoch=1',
                      '--set', 'scheduler_args.cosine.warm_up=0')
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = next(work.glob('*/*/best.pdparams'))
    model_file = export(checkpoint, '1002', [f'dataset_args.pose.videos={videos}',
                                             f'dataset_args.pose.root_folder={root}',
                                             'dataset_args.pose.num_class=2'])
    from_file = infer(model_file, '--pose_file', root / 'videos.pkl', '--output',
                      tmp_path / 'file.json')
    assert from_file.returncode == 0, from_file.stderr[-3000:]
    assert 'Top-1 accuracy:' in from_file.stdout
    from_video = infer(model_file, '--video', videos / 'hug' / 'a.avi', '--output',
                       tmp_path / 'video.json')
    assert from_video.returncode == 0, from_video.stderr[-3000:]
    file_logits = json.loads((tmp_path / 'file.json').read_text())['hug/a']['logits']
    window = json.loads((tmp_path / 'video.json').read_text())['a']['windows'][0]
    num_frame = yaml.safe_load(model_file.with_suffix('.yml').read_text())['num_frame']
    assert (window['start_frame'], window['end_frame']) == (0, num_frame)
    np.testing.assert_allclose(window['logits'], file_logits, rtol=0, atol=1e-4)
