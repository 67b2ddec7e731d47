"""Benchmark of video -> action (not collected by pytest):
    python tests/bench_video.py [--seconds 10] [--stride 30] [--model_file xview.json]

From one run, on the shared clips (1080p; ../shared/video):
  - decoding alone (OpenCV), and pose extraction from the files (decoding, detection,
    landmarks, tracking), frames/s, for one person (NTU's drinking clip) and two (the hug);
  - live: each clip looped to about --seconds and served at 30 frames/s as an MJPEG stream on
    127.0.0.1 (tests/mjpeg_server.py), read by deploy.video_pipeline.predict_video with the
    published X-view B0 (exported, Paddle Inference on the CPU, as infer.py runs it; or
    --model_file) scoring a window every --stride frames: the video
    frames/s handled (pose, model and decoding together; frames skipped counted), the share
    skipped, and the delay from a window's last frame to its result (mean, max).
Goals on 2 cores: one person >= 30 frames/s handled live, two people >= 15.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))

from utils import runtime  # noqa: E402

runtime.tune_process()

from conftest import SHARED  # noqa: E402
from mjpeg_server import MjpegServer, jpeg_frames  # noqa: E402
from reader.video import open_video, video_poses  # noqa: E402
from reader.video.pose_models import THREADS  # noqa: E402

CLIPS = {'one person': SHARED / 'video' / 'S001C001P001R001A001_rgb.avi',
         'two people': SHARED / 'video' / 'ntu_sample.avi'}
GOALS = {'one person': 30.0, 'two people': 15.0}


def decode_rate(path):
    start = time.perf_counter()
    _, frames = open_video(path)
    count = sum(1 for _ in frames)
    return count / (time.perf_counter() - start)


def pose_rate(path):
    start = time.perf_counter()
    poses = video_poses(path)
    return poses.num_frames / (time.perf_counter() - start), poses


def xview(model_file):
    """(runner, deploy) of an exported model as infer.py runs it (Paddle Inference, oneDNN);
    without one, the published X-view B0 exported into a temporary folder first."""
    from deploy.model_config import params_path, read_deploy_config
    from deploy.options import RuntimeOptions
    from deploy.runtimes import configure_threads, make_runner
    if model_file is None:
        from helpers import export_pretrained
        folder = Path(tempfile.mkdtemp(prefix='bench_video_'))
        model_file = export_pretrained(SHARED / 'pretrained', folder, 'xview', '2002')
    deploy = read_deploy_config(model_file)
    runner = make_runner(model_file, params_path(model_file, None, deploy), RuntimeOptions(),
                         configure_threads(None), deploy['input_shape'])
    return runner, deploy


def model_call_seconds(runner, deploy, repeats=3):
    window = np.zeros([1] + list(deploy['input_shape'][1:]), np.float32)
    runner(window)
    start = time.perf_counter()
    for _ in range(repeats):
        runner(window)
    return (time.perf_counter() - start) / repeats


def pose_model_ms(path, repeats=10):
    """Milliseconds per call of the detector and of the landmark model on the clip's frame."""
    from reader.video.pose_models import PoseModels, Region
    models = PoseModels()
    _, frames = open_video(path)
    frame = next(frames)[1]
    frames.close()
    detection = models.detect(frame)[0]
    region = Region.from_points(detection.keypoints[0], detection.keypoints[1])
    timings = []
    for call in (lambda: models.detect(frame), lambda: models.landmarks(frame, region)):
        call()
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        timings.append((time.perf_counter() - start) / repeats * 1000)
    return timings


def live_run(path, seconds, runner, deploy, stride):
    from deploy.video_pipeline import predict_video
    frames = jpeg_frames(path)
    frames = frames * max(1, round(seconds * 30 / len(frames)))
    with MjpegServer(frames, fps=30) as server:
        start = time.monotonic()
        entry = predict_video(server.url, runner, deploy, stride=stride, mirrored=True)
        wall = time.monotonic() - start
    live = entry['live']
    handled = live['frames_arrived'] - live['frames_skipped']
    return {'served': len(frames), 'wall': wall, 'handled_fps': handled / wall,
            'skipped': live['frames_skipped'] / max(live['frames_arrived'], 1),
            'delay_mean': live['mean_delay_s'], 'delay_max': live['max_delay_s'],
            'windows': len(entry['windows']), 'people': entry['people_seen'],
            'action': entry['summary']['class']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--stride', type=int, default=30)
    parser.add_argument('--model_file', default=None,
                        help='an exported model (default: the published X-view B0, exported)')
    args = parser.parse_args()
    missing = [str(path) for path in CLIPS.values() if not path.exists()]
    if missing:
        sys.exit(f'error: {missing[0]} is absent: put the shared folder beside the repo')
    runner, deploy = xview(args.model_file)
    detector_ms, landmarks_ms = pose_model_ms(CLIPS['one person'])
    print(f'pose models (LiteRT, {THREADS} threads): detector {detector_ms:.1f} ms, landmark model '
          f'{landmarks_ms:.1f} ms a call; the model (Paddle Inference): '
          f'{model_call_seconds(runner, deploy):.3f} s a window')
    for label, path in CLIPS.items():
        decoded = decode_rate(path)
        rate, poses = pose_rate(path)
        print(f'{label} ({path.name}, {poses.img_shape[1]}x{poses.img_shape[0]}): decoding '
              f'{decoded:.1f} frames/s; poses from the file {rate:.1f} frames/s '
              f'({poses.num_people} tracked)')
    for label, path in CLIPS.items():
        result = live_run(path, args.seconds, runner, deploy, args.stride)
        goal = GOALS[label]
        print(f'{label} live: {result["served"]} frames served at 30/s in '
              f'{result["wall"]:.1f} s; handled {result["handled_fps"]:.1f} frames/s (goal >= '
              f'{goal:.0f}: {result["handled_fps"] / goal:.2f}x), {result["skipped"]:.0%} '
              f'skipped; delay {result["delay_mean"]:.2f} s mean, {result["delay_max"]:.2f} s '
              f'max over {result["windows"]} windows; {result["people"]} tracked, '
              f'{result["action"]}')


if __name__ == '__main__':
    main()
