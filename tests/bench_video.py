"""Benchmark of video -> action (not collected by pytest):
    python tests/bench_video.py [VIDEO] [--stride FRAMES]

On a clip (default ../shared/video/S001C001P001R001A001_rgb.avi, 1080p) prints, from one run:
  - decoding alone (OpenCV), frames/s;
  - pose (MediaPipe's bundled models, decoding excluded), frames/s once running (goal: >= 20
    at 1080p on 2 cores), and the start-up each video pays (the landmarker and first frame);
  - the model (published X-view B0, folded, on the CPU as -e runs it): seconds per window of its
    288 frames, and the video frames/s it sustains when a window is scored every --stride
    frames (default 30: one window a second at 30 frames/s);
  - each stage's share of the clip's whole time (goal: the model is never the bottleneck).
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))

from utils import runtime  # noqa: E402

runtime.tune_process()


from benchmark_basics import timed  # noqa: E402
from conftest import SHARED  # noqa: E402
from reader import pose_sample  # noqa: E402
from reader.video import open_video, video_annotation, video_poses  # noqa: E402
from reader.video.landmarks import model_bundle  # noqa: E402

DEFAULT_CLIP = SHARED / 'video' / 'S001C001P001R001A001_rgb.avi'
POSE_GOAL = 20.0


def decode_seconds(path):
    start = time.perf_counter()
    info, frames = open_video(path)
    count = sum(1 for _ in frames)
    return time.perf_counter() - start, count, info


def xview_model():
    """(forward function on one window, window frames, graph) of the published X-view B0."""
    import paddle

    import model
    from utils.config import load_config
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model import cpu_backend
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    net, graph, data_shape, _ = build_model(load_config('2002'))
    path = SHARED / 'pretrained' / 'xview.pdparams'
    if path.exists():
        load_model_state(net, model_state_of(load_checkpoint(path)), path)
    net.eval()
    folded = model.reparameterize(net)
    cpu_backend.install(folded)

    def forward(sample):
        inputs = build_inputs(sample[:, :data_shape[2]], 'JVB', graph.connect_joint)
        with paddle.no_grad():
            return folded(paddle.to_tensor(inputs[None]))[0].numpy()
    return forward, data_shape[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('video', nargs='?', default=str(DEFAULT_CLIP))
    parser.add_argument('--stride', type=int, default=30)
    args = parser.parse_args()
    if not Path(args.video).exists():
        sys.exit(f'error: {args.video} is absent: give a video, or put the shared folder '
                 'beside the repo')
    model_bundle()   # built once per process: not part of a clip's time
    decode_time, frames, info = decode_seconds(args.video)
    done = []   # when each frame's pose was done
    start = time.perf_counter()
    poses = video_poses(args.video, progress=lambda _: done.append(time.perf_counter()))
    pose_time = max(time.perf_counter() - start - decode_time, 1e-9)
    startup = done[0] - start
    running_pose = max((done[-1] - done[0]) / (frames - 1) - decode_time / frames, 1e-9)
    forward, window = xview_model()
    sample = pose_sample(video_annotation(poses, 'ntu', 3, mirrored=True), 25, 3, 300,
                         transform=True)[0]
    window_time = timed(lambda: forward(sample), 5)
    windows = 1 + max(0, frames - window + args.stride - 1) // args.stride
    model_time = windows * window_time
    total = decode_time + pose_time + model_time
    print(f'clip: {args.video} ({frames} frames, {info.width}x{info.height}, '
          f'person in {int(poses.found.sum())})')
    print(f'decoding: {frames / decode_time:.1f} frames/s')
    print(f'pose:     {1 / running_pose:.1f} frames/s once running (goal >= {POSE_GOAL:.0f}: '
          f'{1 / running_pose / POSE_GOAL:.2f}x the goal); start-up {startup:.2f} s per video')
    print(f'model:    {window_time:.3f} s per {window}-frame window; a window every '
          f'{args.stride} frames sustains {args.stride / window_time:.0f} frames/s '
          f'({args.stride * running_pose / window_time:.1f}x the pose rate)')
    print(f'decoding + pose: {frames / (decode_time + pose_time):.1f} frames/s')
    print(f'shares of the clip ({windows} window{"s" * (windows > 1)}, {total:.2f} s): '
          f'decoding {decode_time / total:.0%}, pose {pose_time / total:.0%}, '
          f'model {model_time / total:.0%}')


if __name__ == '__main__':
    main()
