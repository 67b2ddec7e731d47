"""Benchmark of video -> action (not collected by pytest):
    python tests/bench_video.py [--seconds 10] [--stride 30] [--model_file xview.json]

From one run, on the shared clips (1080p; ../shared/video):
  - where a live frame's time goes: ms a call of JPEG decoding (whole, and at half size),
    colour conversion, the detector and the landmark model with 1 and 2 LiteRT threads, a
    window's sample and model call, and the drawing of --save-video;
  - decoding alone (OpenCV), and pose extraction from the files (decoding, detection,
    landmarks, tracking), frames/s, for one person (NTU's drinking clip) and two (the hug);
  - a 60 frames/s copy of the drinking clip (each frame twice), its poses taken on the frames
    the model's 30 frames/s clock takes against on every frame: video frames/s and the ratio;
  - live: each clip looped to about --seconds and served at 30 frames/s as an MJPEG stream on
    127.0.0.1 (tests/mjpeg_server.py), read by deploy.video_pipeline.predict_video with the
    published X-view B0 (exported, Paddle Inference on the CPU, as infer.py runs it; or
    --model_file) scoring a window every --stride frames: the video
    frames/s handled (frames the poses were taken on, from the stream's first frame to the
    result: pose, model and decoding together), the share skipped, and the delay from a window's last frame to its result (mean, max).
Goals on 2 cores: one person >= 30 frames/s handled live, two people >= 15.
"""
import argparse
import os
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

from benchmark_basics import timed  # noqa: E402
from conftest import SHARED  # noqa: E402
from mjpeg_server import MjpegServer, jpeg_frames  # noqa: E402
from reader.video import open_video, video_poses  # noqa: E402

CLIPS = {'one person': SHARED / 'video' / 'S001C001P001R001A001_rgb.avi',
         'two people': SHARED / 'video' / 'ntu_sample.avi'}
GOALS = {'one person': 30.0, 'two people': 15.0}
PARTS = ['stages', 'clock', 'files', 'live']


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


def stage_ms(path, runner, deploy):
    """Milliseconds a call of each stage a live frame goes through, on a frame of the clip as
    the MJPEG stream serves it."""
    import cv2

    from deploy.batches import to_model_inputs
    from deploy.video_drawing import LiveRecording
    from deploy.video_windows import file_windows, window_sample
    from reader.video.pose_models import PoseModels, Region
    packet = np.frombuffer(jpeg_frames(path, limit=1)[0], np.uint8)
    bgr = cv2.imdecode(packet, cv2.IMREAD_COLOR)
    frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    stages = {'JPEG decoding': lambda: cv2.imdecode(packet, cv2.IMREAD_COLOR),
              'JPEG decoding at half size': lambda: cv2.imdecode(packet,
                                                                 cv2.IMREAD_REDUCED_COLOR_2),
              'colour conversion': lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}
    for threads in (1, 2):
        models = PoseModels(threads)
        detection = models.detect(frame)[0]
        region = Region.from_points(*detection.keypoints[:2])
        stages[f'detector, {threads} thread(s)'] = lambda m=models: m.detect(frame)
        stages[f'landmark model, {threads} thread(s)'] = \
            lambda m=models, r=region: m.landmarks(frame, r)
    poses = video_poses(path, rate=float(deploy['frame_rate']))
    window = file_windows(poses, deploy, 30)[0]
    inputs = to_model_inputs([window_sample(window, deploy, True)], deploy)
    stages['window sample'] = lambda: window_sample(window, deploy, True)
    stages['model, a window'] = lambda: runner(inputs)
    with tempfile.TemporaryDirectory() as folder:
        recording = LiveRecording(Path(folder) / 'drawn.avi', 30.0, frame.shape[1],
                                  frame.shape[0])
        people, added = {0: poses.image[0, 0]}, [0]

        def draw():
            added[0] += 1
            recording.add(frame, added[0] / 30, people)
        stages['--save-video drawing (this thread)'] = draw
        timings = {name: 1000 * timed(call, 10) for name, call in stages.items()}
        recording.close()
    return timings


def retimed_60fps(path, folder):
    """The clip at 60 frames/s, each frame twice (the same motion), as Motion JPEG."""
    import cv2
    _, frames = open_video(path)
    first = None
    for _, frame in frames:
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if first is None:
            first = out = Path(folder) / f'60fps_{path.name}'
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*'MJPG'), 60,
                                     (bgr.shape[1], bgr.shape[0]))
        writer.write(bgr)
        writer.write(bgr)
    writer.release()
    return first


def clock_speedup(path, rate):
    """Video frames/s of pose extraction from a 60 frames/s copy on every frame, and on the
    frames the model's clock takes."""
    with tempfile.TemporaryDirectory() as folder:
        copy = retimed_60fps(path, folder)
        rates = {}
        for label, taken_at in (('every frame', None), ('model clock', rate)):
            start = time.perf_counter()
            poses = video_poses(copy, rate=taken_at)
            rates[label] = poses.video_frames / (time.perf_counter() - start)
    return rates


def live_run(path, seconds, runner, deploy, stride):
    """The clip looped to about `seconds`, served live: frames/s handled (poses taken) from the
    stream's first frame to the result, and the rest."""
    from deploy.video_pipeline import predict_video
    frames = jpeg_frames(path)
    frames = frames * max(1, round(seconds * 30 / len(frames)))
    with MjpegServer(frames, fps=30) as server:
        entry = predict_video(server.url, runner, deploy, stride=stride, mirrored=True)
        wall = time.monotonic() - server.started
    live = entry['live']
    return {'served': len(frames), 'wall': wall, 'handled_fps': entry['frames'] / wall,
            'not_needed': live.get('frames_not_needed', 0),
            'skipped': live['frames_skipped'] / max(live['frames_arrived'], 1),
            'delay_mean': live['mean_delay_s'], 'delay_max': live['max_delay_s'],
            'windows': len(entry['windows']), 'windows_skipped': live['windows_skipped'],
            'people': entry['people_seen'], 'action': entry['summary']['class']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--stride', type=int, default=30)
    parser.add_argument('--model_file', default=None,
                        help='an exported model (default: the published X-view B0, exported)')
    parser.add_argument('--parts', nargs='+', default=PARTS, choices=PARTS,
                        help='what to measure (default: all)')
    args = parser.parse_args()
    missing = [str(path) for path in CLIPS.values() if not path.exists()]
    if missing:
        sys.exit(f'error: {missing[0]} is absent: put the shared folder beside the repo')
    runner, deploy = xview(args.model_file)
    if 'stages' in args.parts:
        print(f'load average {os.getloadavg()[0]:.2f}; where a live frame\'s time goes (ms a '
              f'call, {CLIPS["one person"].name}):')
        for name, ms in stage_ms(CLIPS['one person'], runner, deploy).items():
            print(f'  {name}: {ms:.1f} ms')
    if 'clock' in args.parts:
        rates = clock_speedup(CLIPS['one person'], float(deploy['frame_rate']))
        print(f'60 frames/s copy: poses on every frame {rates["every frame"]:.1f} video '
              f'frames/s, on the frames the model\'s clock takes {rates["model clock"]:.1f} '
              f'({rates["model clock"] / rates["every frame"]:.2f}x); load average '
              f'{os.getloadavg()[0]:.2f}')
    if 'files' in args.parts:
        for label, path in CLIPS.items():
            decoded = decode_rate(path)
            rate, poses = pose_rate(path)
            print(f'{label} ({path.name}, {poses.img_shape[1]}x{poses.img_shape[0]}): decoding '
                  f'{decoded:.1f} frames/s; poses from the file {rate:.1f} frames/s '
                  f'({poses.num_people} tracked)')
    if 'live' in args.parts:
        for label, path in CLIPS.items():
            print_live(label, live_run(path, args.seconds, runner, deploy, args.stride))


def print_live(label, result):
    goal = GOALS[label]
    print(f'{label} live: {result["served"]} frames served at 30/s, {result["wall"]:.1f} s from '
          f'the first to the result; handled {result["handled_fps"]:.1f} frames/s (goal >= '
          f'{goal:.0f}: {result["handled_fps"] / goal:.2f}x), {result["skipped"]:.0%} skipped, '
          f'{result["not_needed"]} not needed; delay {result["delay_mean"]:.2f} s mean, '
          f'{result["delay_max"]:.2f} s max over {result["windows"]} windows '
          f'({result["windows_skipped"]} skipped); {result["people"]} tracked, '
          f'{result["action"]}; load average {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
