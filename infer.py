"""Deployment: run an exported EfficientGCN with Paddle Inference or ONNX Runtime on raw
skeletons or arrays.

Export first (`python main.py -c 2001 -ex -pp CKPT` writes CKPT's stem .json/.pdiparams/.yml and,
with paddle2onnx installed, .onnx), then

    python infer.py --model_file xsub.json --skeleton S001C001P001R001A001.skeleton more_skeletons/
    python infer.py --model_file xsub.json --data_file eval_data.npy --label_file eval_label.pkl
    python infer.py --model_file xsub.json --benchmark            # speed on a random batch
    python infer.py --model_file xsub.onnx --skeleton more_skeletons/   # ONNX Runtime
    python infer.py --model_file pose.json --pose_file poses.pkl --split xsub_val
    python infer.py --model_file xview.json --video clip.mp4 videos/ [--stride 30] [--mirrored]
        [--save-video drawn/]     # needs requirements-video.txt
    python infer.py --model_file xview.json --video 0               # a camera, live
    python infer.py --model_file xview.json --video http://camera.local/video.mjpg   # a stream

A `.onnx` model file runs in ONNX Runtime, anything else in Paddle Inference. A pose file is a
pose-annotation pickle of mmaction2 / pyskl (reader/pose.py), read as -gd reads it: every sample
in it, or those of one split. A video (a file, a camera or a stream) is read with OpenCV and
MediaPipe's bundled pose models (reader/video: up to two people tracked, frames at the model's
frame rate by their time stamps) and cut into windows of the model's frame count every --stride
frames (deploy/video_pipeline.py); each window is printed with its time span, the people in it
and top-k, and each video with a summary line.

Everything needed to prepare the input as in training (layout, keypoint_dim, max_frame, inputs,
num_frame, transform, bones, centre joint) is read from the `<stem>.yml` beside the model file.
Results go to stdout, one line per sample; notices, warnings and errors go to stderr, errors as
one line `error: ...`. This file is the command line of deploy.Recognizer, which a script can
use directly (deploy/recognizer.py); the deploy package does the work (input sources, runtimes,
results, benchmark).
"""
import argparse
import sys
from pathlib import Path

from deploy import Recognizer
from deploy.messages import InferError, report_error, warn
from deploy.options import RuntimeOptions
from deploy.results import report
from deploy.sources.video import file_name, open_videos, source_name
from deploy.video_drawing import output_path
from deploy.video_pipeline import STREAM_TIMEOUT_S
from deploy.video_results import print_summary, print_window
from reader.video import VideoError
from reader.video.live import describe, is_live
from utils.files import save_json
from utils.runtime import tune_process


# ---------------------------------------------------------------- command line
def str2bool(text):
    value = text.lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise argparse.ArgumentTypeError(f'{text!r} is not true or false')


def build_parser():
    parser = argparse.ArgumentParser(
        description='EfficientGCN inference with Paddle Inference on an exported model '
                    '(python main.py -c ID -ex -pp CKPT)')
    add = parser.add_argument

    def add_switch(*names, default=False, help=None):
        # `--flag` alone means true; `--flag false` and `--flag true` are accepted too.
        add(*names, type=str2bool, nargs='?', const=True, default=default, metavar='BOOL',
            help=help)

    add('--model_file', required=True,
        help='exported <stem>.json or <stem>.pdmodel (Paddle Inference) or <stem>.onnx '
             '(ONNX Runtime)')
    add('--params_file', default=None, help='weights (default: the params_file of <stem>.yml)')
    add('--skeleton', nargs='+', default=None, metavar='PATH',
        help='skeleton files (NTU .skeleton, or another file source of dataset/sources.py) '
             'or folders of them')
    add('--pose_file', default=None, metavar='FILE.pkl',
        help='a pose-annotation pickle (mmaction2 / pyskl format): every sample, or --split')
    add('--split', default=None, help='the split of --pose_file to infer (default: all samples)')
    add('--video', nargs='+', default=None, metavar='PATH',
        help='video files or folders of them, camera indices (0) or stream addresses '
             '(rtsp://, http(s)://) (pip install -r requirements-video.txt)')
    add('--stride', type=int, default=30,
        help='--video: a window of the model\'s frame count every STRIDE frames, counted at '
             'the model\'s frame rate (default 30)')
    add_switch('--mirrored', help='--video, 3D models: the videos are mirrored left to right '
                                  '(Kinect colour streams such as NTU\'s _rgb.avi clips)')
    add('--stream-timeout', '--stream_timeout', dest='stream_timeout', type=float,
        default=STREAM_TIMEOUT_S, metavar='SECONDS',
        help='--video: a camera or stream silent this long has stopped (an error before its '
             f'first frame) (default {STREAM_TIMEOUT_S:g})')
    add('--top_k', type=int, default=3, help='--video: actions printed per window (default 3)')
    add('--save-video', '--save_video', dest='save_video', default=None, metavar='OUT',
        help='--video: write each clip with the skeleton and the window\'s top-1 drawn: OUT '
             'is the file for one video, else a folder (OUT/<name>.avi)')
    add('--data_file', default=None, help='generated {phase}_data.npy (N, 3, T, V, M)')
    add('--label_file', default=None, help='its {phase}_label.pkl: (paths, labels, lengths)')
    add('--output', default=None, metavar='FILE.json', help='write pred, top-5 and logits here')
    add('--batch-size', '--batch_size', dest='batch_size', type=int, default=16)
    add_switch('--use-gpu', '--use_gpu', help='run on GPU 0 (CPU when Paddle has no CUDA)')
    add('--gpu_mem', type=int, default=8000, help='initial GPU memory pool in MB')
    add_switch('--enable_mkldnn', default=True,
               help='oneDNN (MKL-DNN) kernels on the CPU (default true: about 2x faster for B0)')
    add('--cpu_threads', type=int, default=None, help='CPU math threads (default: all cores)')
    add('--precision', choices=('fp32', 'fp16', 'int8', 'bf16', 'auto'), default='fp32',
        help='CPU: int8/bf16 run the form `main.py -ex --quantize` wrote beside the model, auto '
             'the fastest accepted one for its runtime here; GPU: fp16/int8 of TensorRT')
    add_switch('--ir_optim', default=True, help='graph optimisation passes (default true)')
    add_switch('--use_tensorrt', help='TensorRT subgraphs (GPU only; for .onnx the TensorRT '
                                      'execution provider, where ONNX Runtime has it)')
    add_switch('--benchmark', help='print throughput and latency per batch after warm-up')
    return parser


# infer.py option -> how the Recognizer predicts it
SOURCES = {'skeleton': lambda recognizer, args: recognizer.predict_skeletons(args.skeleton),
           'pose_file': lambda recognizer, args: recognizer.predict_poses(args.pose_file,
                                                                           args.split),
           'data_file': lambda recognizer, args: recognizer.predict_arrays(
               args.data_file, label_file=args.label_file)}
CLIP_SOURCES = ('video',)


def given_sources(args):
    """The source options given on the command line, in SOURCES' then CLIP_SOURCES' order."""
    return [name for name in (*SOURCES, *CLIP_SOURCES) if getattr(args, name, None)]


def check_args(args):
    given = given_sources(args)
    if len(given) > 1:
        raise InferError(f'give one of --skeleton, --pose_file, --data_file and --video, not '
                         f'--{given[0]} and --{given[1]}')
    if not (given or args.benchmark):
        raise InferError('nothing to infer: give --skeleton PATH..., --pose_file FILE, '
                         '--data_file FILE or --video PATH... (or --benchmark alone to time a '
                         'random batch)')
    if args.save_video and not args.video:
        raise InferError('--save-video belongs to --video')
    if args.top_k < 1:
        raise InferError(f'--top_k must be at least 1, got {args.top_k}')
    if args.split and not args.pose_file:
        raise InferError('--split belongs to --pose_file')
    if args.label_file and not args.data_file:
        raise InferError('--label_file belongs to --data_file')
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise InferError(f'the folder of --output {args.output} does not exist')


def runtime_options(args):
    """The runtime's options given on the command line."""
    return {name: getattr(args, name) for name in RuntimeOptions.names()}


def run_videos(args, recognizer):
    """Each video's windows through the model, printed as they are known; then the JSON."""
    entries, failures = {}, []
    sources = open_videos(args.video, recognizer.deploy, failures, args.stride,
                          args.stream_timeout, args.save_video)   # before Paddle loads
    for source in sources:
        name = source_name(source, entries)
        try:
            entry = recognizer.predict_video(
                source, args.stride, args.mirrored, name=name,
                save_video=args.save_video and output_path(args.save_video, file_name(name)),
                on_window=lambda window: print_window(window, name, args.top_k),
                stream_timeout=args.stream_timeout).entry
        except VideoError as e:
            shown = describe(source) if is_live(source) else source
            report_error(shown, str(e).removeprefix(f'{shown}: '))
            failures.append(str(source))
            continue
        print_summary(entry, name)
        if entry.get('live', {}).get('ended', '').startswith('no frame'):
            warn(f'{source}: the stream stopped ({entry["live"]["ended"]}): the results are of '
                 'what was seen')
        entries[name] = entry
        if 'saved' in entry:
            print(f'Wrote {entry["saved"]}')
    if not entries:
        raise InferError('no video could be processed')
    warn_failures(failures, len(entries))
    if args.output:
        save_json(entries, args.output)
        print(f'Wrote {args.output}')


def warn_failures(failures, done):
    if failures:
        warn(f'skipped {len(failures)} of {len(failures) + done} inputs that could not be read '
             f'(see the error lines above)')


def run(args):
    """The model loads at the first prediction, so that data errors surface before Paddle
    loads."""
    check_args(args)
    recognizer = Recognizer(args.model_file, args.params_file, load=False,
                            **runtime_options(args))
    given = given_sources(args)
    if args.video:
        run_videos(args, recognizer)
    elif given:
        predictions = SOURCES[given[0]](recognizer, args)
        if not predictions:
            raise InferError('no sample could be processed')
        warn_failures(predictions.skipped, len(predictions))
        report(predictions, recognizer.class_names, args.output)
    if args.benchmark:
        recognizer.benchmark()


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except InferError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    # Paddle Inference runs every op in OpenMP: keep its spin, except for videos, whose pose
    # models and decoding need the cores between the model's runs
    tune_process(openmp_spin='--video' not in sys.argv)
    sys.exit(main())
