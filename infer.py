"""Deployment: run an exported EfficientGCN with Paddle Inference or ONNX Runtime on raw
skeletons or arrays.

Export first (`python main.py -c 2001 -ex -pp CKPT` writes CKPT's stem .json/.pdiparams/.yml and,
with paddle2onnx installed, .onnx), then

    python infer.py --model_file xsub.json --skeleton S001C001P001R001A001.skeleton more_skeletons/
    python infer.py --model_file xsub.json --data_file eval_data.npy --label_file eval_label.pkl
    python infer.py --model_file xsub.json --benchmark            # speed on a random batch
    python infer.py --model_file xsub.onnx --skeleton more_skeletons/   # ONNX Runtime
    python infer.py --model_file pose.json --pose_file poses.pkl --split xsub_val

A `.onnx` model file runs in ONNX Runtime, anything else in Paddle Inference. A pose file is a
pose-annotation pickle of mmaction2 / pyskl (reader/pose.py), read as -gd reads it: every sample
in it, or those of one split.

Everything needed to prepare the input as in training (layout, keypoint_dim, max_frame, inputs,
num_frame, transform, bones, centre joint) is read from the `<stem>.yml` beside the model file.
Results go to stdout, one line per sample; notices, warnings and errors go to stderr, errors as
one line `error: ...`.
"""
import argparse
import contextlib
import ctypes
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import yaml

import metrics
import reader
from dataset.inputs import build_inputs
from files import save_json
from runtime import gpu_available, import_paddle, set_cpu_threads, tune_process

DEPLOY_KEYS = ('params_file', 'inputs', 'num_frame', 'transform', 'num_class', 'input_shape',
               'connect_joint', 'class_names')
# Entries older exports lack: they were all of NTU .skeleton files.
DEPLOY_DEFAULTS = {'layout': 'ntu', 'keypoint_dim': 3, 'max_frame': reader.sample.MAX_FRAME,
                   'center': 1}
TOP_K = 5
BENCHMARK_WARMUP, BENCHMARK_MIN_RUNS, BENCHMARK_MIN_SECONDS = 2, 3, 2.0


class InferError(Exception):
    """A problem the user can fix; printed as one `error:` line."""


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
        # `--flag` alone means true; `--flag false` (the seed's spelling) is also accepted.
        add(*names, type=str2bool, nargs='?', const=True, default=default, metavar='BOOL',
            help=help)

    add('--model_file', required=True,
        help='exported <stem>.json or <stem>.pdmodel (Paddle Inference) or <stem>.onnx '
             '(ONNX Runtime)')
    add('--params_file', default=None, help='weights (default: the params_file of <stem>.yml)')
    add('--skeleton', nargs='+', default=None, metavar='PATH',
        help='raw NTU .skeleton files or folders of them')
    add('--pose_file', default=None, metavar='FILE.pkl',
        help='a pose-annotation pickle (mmaction2 / pyskl format): every sample, or --split')
    add('--split', default=None, help='the split of --pose_file to infer (default: all samples)')
    add('--data_file', default=None, help='generated {phase}_data.npy (N, 3, T, V, M)')
    add('--label_file', default=None, help='its {phase}_label.pkl: (paths, labels, lengths)')
    add('--output', default=None, metavar='FILE.json', help='write pred, top-5 and logits here')
    add('--batch-size', '--batch_size', dest='batch_size', type=int, default=16)
    add_switch('--use-gpu', '--use_gpu', help='run on GPU 0 (CPU when Paddle has no CUDA)')
    add('--gpu_mem', type=int, default=8000, help='initial GPU memory pool in MB')
    add_switch('--enable_mkldnn', default=True,
               help='oneDNN (MKL-DNN) kernels on the CPU (default true: about 2x faster for B0)')
    add('--cpu_threads', type=int, default=None, help='CPU math threads (default: all cores)')
    add('--precision', choices=('fp32', 'fp16', 'int8'), default='fp32',
        help='fp16/int8 need TensorRT on a GPU')
    add_switch('--ir_optim', default=True, help='graph optimisation passes (default true)')
    add_switch('--use_tensorrt', help='TensorRT subgraphs (GPU only; for .onnx the TensorRT '
                                      'execution provider, where ONNX Runtime has it)')
    add_switch('--benchmark', help='print throughput and latency per batch after warm-up')
    return parser


def check_args(args):
    if args.batch_size < 1:
        raise InferError(f'--batch-size must be at least 1, got {args.batch_size}')
    if args.cpu_threads is not None and args.cpu_threads < 1:
        raise InferError(f'--cpu_threads must be at least 1, got {args.cpu_threads}')
    given = [name for name in ('skeleton', 'pose_file', 'data_file') if getattr(args, name)]
    if len(given) > 1:
        raise InferError(f'give one of --skeleton, --pose_file and --data_file, not '
                         f'--{given[0]} and --{given[1]}')
    if not (given or args.benchmark):
        raise InferError('nothing to infer: give --skeleton PATH..., --pose_file FILE or '
                         '--data_file FILE (or --benchmark alone to time a random batch)')
    if args.split and not args.pose_file:
        raise InferError('--split belongs to --pose_file')
    if args.label_file and not args.data_file:
        raise InferError('--label_file belongs to --data_file')
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise InferError(f'the folder of --output {args.output} does not exist')


# ---------------------------------------------------------------- exported model and its config
def read_deploy_config(model_file):
    """The `<stem>.yml` that -ex wrote beside the model file."""
    model_file = Path(model_file)
    if not model_file.is_file():
        raise InferError(f'model file {model_file} does not exist')
    path = model_file.with_suffix('.yml')
    if not path.is_file():
        raise InferError(f'inference config {path} does not exist: export with '
                         f'`python main.py -c ID -ex -pp CKPT`, which writes it beside the model')
    try:
        with open(path) as f:
            deploy = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise InferError(f'inference config {path} is not valid YAML: '
                         f'{str(e).splitlines()[0]}') from None
    missing = [key for key in DEPLOY_KEYS if not isinstance(deploy, dict) or key not in deploy]
    if missing:
        raise InferError(f'inference config {path} has no {missing[0]!r} entry: export again')
    return {**DEPLOY_DEFAULTS, **deploy}


def is_onnx(model_file):
    return Path(model_file).suffix == '.onnx'


def params_path(args, deploy):
    if is_onnx(args.model_file):   # the weights are inside the .onnx
        return None
    path = Path(args.params_file) if args.params_file else \
        Path(args.model_file).parent / deploy['params_file']
    if not path.is_file():
        raise InferError(f'params file {path} does not exist')
    return path


# ---------------------------------------------------------------- inputs
def report_error(source, reason):
    print(f'error: {source}: {one_line(reason)}', file=sys.stderr)


def one_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else str(text)


def skeleton_files(paths, failures):
    """The given files plus the .skeleton files of the given folders, each once, in order."""
    files, seen = [], set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(path.glob('*.skeleton'))
            if not found:
                print(f'warning: no .skeleton files in {path}', file=sys.stderr)
        elif path.exists():
            found = [path]
        else:
            report_error(path, 'no such file or folder')
            failures.append(str(path))
            continue
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


def label_from_name(path, num_class):
    """0-based class from the NTU name (A001 -> 0); None when the name carries no known class."""
    try:
        label = reader.parse_name(Path(path).name)['action'] - 1
    except (ValueError, KeyError, TypeError):
        return None
    return label if 0 <= label < num_class else None


def read_skeleton_file(path, deploy):
    """(C, 300, V, 2) float32 from a raw file, padded as -gd pads it and pre-normalised when
    training was."""
    data, _, notes = reader.load_sample(str(path), transform=bool(deploy['transform']))
    for note in notes:
        print(f'warning: {path}: {one_line(note)}', file=sys.stderr)
    return data


def to_model_inputs(samples, deploy):
    """(N, C, T, V, M) samples -> (N, I, 6, num_frame, V, M) float32, cut as the feeder does."""
    num_frame = deploy['num_frame']
    return np.stack([build_inputs(np.asarray(sample[:, :num_frame]), deploy['inputs'],
                                  deploy['connect_joint'], deploy['center'])
                     for sample in samples])


def batched(samples, deploy, batch_size):
    """(names, inputs, labels) batches of (name, sample, label) triples."""
    names, data, labels = [], [], []
    for name, sample, label in samples:
        names.append(name)
        data.append(sample)
        labels.append(label)
        if len(names) == batch_size:
            yield names, to_model_inputs(data, deploy), labels
            names, data, labels = [], [], []
    if names:
        yield names, to_model_inputs(data, deploy), labels


def check_ntu_model(deploy):
    if deploy['layout'] != 'ntu' or deploy['keypoint_dim'] != 3:
        raise InferError(f'.skeleton files hold 3D NTU-25 joints, but this model takes '
                         f'{deploy["keypoint_dim"]}D poses in the {deploy["layout"]} layout: '
                         'give them with --pose_file')


def skeleton_samples(files, deploy, failures):
    """(name, sample, label) of the readable files; unreadable ones are reported."""
    for path in files:
        try:
            data = read_skeleton_file(path, deploy)
        except (reader.SkeletonError, OSError) as e:
            report_error(path, getattr(e, 'reason', e))
            failures.append(str(path))
            continue
        check_sample_shape(data.shape, deploy, str(path))
        yield reader.sample_stem(path), data, label_from_name(path, deploy['num_class'])


def open_pose_file(args, deploy, failures):
    """The (id, annotation) pairs of --pose_file (its --split, or all); ids of the split that
    cannot be taken are reported."""
    try:
        annotations, splits = reader.load_annotations(args.pose_file)
        reader.pose.check_keypoint_dim(annotations, deploy['keypoint_dim'], args.pose_file,
                                       f'the model takes {deploy["keypoint_dim"]}D poses '
                                       f'({deploy["layout"]} layout)')
        samples, missing = reader.split_samples(annotations, splits, args.split, args.pose_file)
    except reader.PoseFileError as e:
        raise InferError(str(e)) from None
    for name, reason in missing:
        report_error(name, reason)
        failures.append(name)
    return samples


def pose_samples(samples, deploy, failures):
    """(name, sample, label) of the usable annotations, prepared as -gd prepares them; the label
    is None when the annotation has none the model knows."""
    num_joints = deploy['input_shape'][-2]
    for name, annotation in samples:
        try:
            data, _, notes = reader.pose_sample(annotation, num_joints, deploy['keypoint_dim'],
                                                deploy['max_frame'], bool(deploy['transform']))
        except reader.PoseSampleError as e:
            report_error(name, e)
            failures.append(name)
            continue
        for note in notes:
            print(f'warning: {name}: {one_line(note)}', file=sys.stderr)
        check_sample_shape(data.shape, deploy, name)
        yield name, data, pose_label(name, annotation, deploy['num_class'])


def pose_label(name, annotation, num_class):
    if annotation.get('label') is None:
        return None
    try:
        return reader.pose.read_label(annotation, num_class)
    except reader.PoseSampleError as e:
        print(f'warning: {name}: {e}; its prediction is not scored', file=sys.stderr)
        return None


def sample_fits(shape, deploy):
    """A (C, T, V, M) sample fits with xyz, at least num_frame frames (training cuts the first
    num_frame) and the model's joints and bodies."""
    num_joint, num_body = deploy['input_shape'][-2:]
    return len(shape) == 4 and shape[0] == 3 and shape[1] >= deploy['num_frame'] \
        and tuple(shape[2:]) == (num_joint, num_body)


def needed_shape(deploy):
    num_joint, num_body = deploy['input_shape'][-2:]
    return f'3, T >= {deploy["num_frame"]}, {num_joint}, {num_body}'


def check_sample_shape(shape, deploy, source):
    if not sample_fits(shape, deploy):
        raise InferError(f'{source}: a sample of shape {tuple(shape)} does not fit the model, '
                         f'which needs (C, T, V, M) = ({needed_shape(deploy)})')


def open_data_file(args, deploy):
    """Memory-mapped (N, C, T, V, M) array, sample names and labels (None when unknown)."""
    path = Path(args.data_file)
    if not path.is_file():
        raise InferError(f'data file {path} does not exist')
    try:
        data = np.load(path, mmap_mode='r')
    except (ValueError, OSError):
        raise InferError(f'data file {path} is not a .npy array') from None
    if data.ndim != 5 or not sample_fits(data.shape[1:], deploy):
        raise InferError(f'{path}: data of shape {data.shape} does not fit the model, which '
                         f'needs (N, C, T, V, M) = (N, {needed_shape(deploy)}) as -gd writes')
    names = [f'sample_{i}' for i in range(len(data))]
    labels = [None] * len(data)
    if args.label_file:
        names, labels = read_label_file(args.label_file, len(data), deploy['num_class'])
    return data, names, labels


def read_label_file(path, num_samples, num_class):
    if not Path(path).is_file():
        raise InferError(f'label file {path} does not exist')
    try:
        with open(path, 'rb') as f:
            paths, labels = pickle.load(f)[:2]
    except Exception as e:   # pickle raises many kinds on a file it cannot read
        raise InferError(f'label file {path} is not a (paths, labels, lengths) pickle '
                         f'({type(e).__name__})') from None
    if len(paths) != num_samples or len(labels) != num_samples:
        raise InferError(f'label file {path} lists {len(labels)} samples but the data file '
                         f'holds {num_samples}')
    outside = [int(label) for label in labels if not 0 <= int(label) < num_class]
    if outside:
        raise InferError(f'label file {path} has label {outside[0]}, but the model has '
                         f'{num_class} classes')
    return [reader.row_name(p) for p in paths], [int(label) for label in labels]


# ---------------------------------------------------------------- Paddle Inference
def configure_threads(cpu_threads):
    """OMP_NUM_THREADS must be set before paddle loads; --cpu_threads wins over the default."""
    if cpu_threads:
        os.environ['OMP_NUM_THREADS'] = str(cpu_threads)
    set_cpu_threads()
    if cpu_threads:
        return cpu_threads
    try:
        return max(1, int(os.environ['OMP_NUM_THREADS']))
    except ValueError:
        return os.cpu_count() or 1


def precision_type(name):
    from paddle.inference import PrecisionType
    return {'fp32': PrecisionType.Float32, 'fp16': PrecisionType.Half,
            'int8': PrecisionType.Int8}[name]


def configure_gpu(config, args):
    config.enable_use_gpu(args.gpu_mem, 0)
    if args.use_tensorrt:
        config.enable_tensorrt_engine(
            workspace_size=1 << 30, max_batch_size=args.batch_size, min_subgraph_size=3,
            precision_mode=precision_type(args.precision), use_static=False,
            use_calib_mode=args.precision == 'int8')
    elif args.precision != 'fp32':
        notice(f'--precision {args.precision} needs --use_tensorrt; running fp32')


def configure_cpu(config, args, cpu_threads):
    config.disable_gpu()
    # Set it either way: what Paddle does when told nothing differs between versions.
    if args.enable_mkldnn:
        config.enable_mkldnn()
    else:
        config.disable_mkldnn()
    config.set_cpu_math_library_num_threads(cpu_threads)
    if args.use_tensorrt:
        notice('--use_tensorrt needs a GPU; running without TensorRT')
    if args.precision != 'fp32':
        notice(f'--precision {args.precision} needs TensorRT on a GPU; running fp32 on the CPU')


def notice(message):
    print(f'notice: {message}', file=sys.stderr)


def inference_config(args, model_file, params_file, cpu_threads):
    from paddle.inference import Config
    config = Config(str(model_file), str(params_file))
    use_gpu = args.use_gpu and gpu_available()
    if args.use_gpu and not use_gpu:
        notice('--use-gpu was given, but this Paddle build has no CUDA device: running on the CPU')
    if use_gpu:
        configure_gpu(config, args)
    else:
        configure_cpu(config, args, cpu_threads)
    config.switch_ir_optim(args.ir_optim)
    config.disable_glog_info()
    return config


@contextlib.contextmanager
def native_stdout_to_stderr():
    """Send what Paddle's C++ prints on stdout (oneDNN kernel checks) to stderr, so that stdout
    holds only the results."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)   # C buffers still hold text meant for the old stdout
        os.dup2(saved, 1)
        os.close(saved)


class Runner:
    """A predictor fed through the exported program's `data` input; returns the logits."""

    def __init__(self, config, model_file):
        from paddle.inference import create_predictor
        try:
            with native_stdout_to_stderr():
                self.predictor = create_predictor(config)
        except Exception as e:   # paddle raises RuntimeError/ValueError/... on a bad model
            raise InferError(f'cannot load model {model_file}: {one_line(e)}') from None
        inputs = self.predictor.get_input_names()
        if inputs != ['data']:
            raise InferError(f'model {model_file} takes inputs {inputs}, not one named "data": '
                             'export it with `python main.py -c ID -ex -pp CKPT`')
        self.input = self.predictor.get_input_handle('data')
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])

    def __call__(self, batch):
        self.input.reshape(list(batch.shape))
        self.input.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        try:
            with native_stdout_to_stderr():
                self.predictor.run()
        except Exception as e:   # e.g. a .yml that no longer matches the model
            raise InferError(f'inference failed on a batch of shape {list(batch.shape)}: '
                             f'{one_line(e)}') from None
        return self.output.copy_to_cpu()


class OnnxRunner:
    """An ONNX Runtime session fed through the model's `data` input; returns the logits. On a
    GPU the CUDA provider (TensorRT's first with --use_tensorrt), where the installed runtime
    has them; on the CPU cpu_threads threads, as Paddle Inference is given."""

    def __init__(self, args, model_file, cpu_threads):
        try:
            import onnxruntime
        except ImportError:
            raise InferError(f'{model_file} is an ONNX model: install ONNX Runtime with '
                             '`pip install onnxruntime` (onnxruntime-gpu for GPUs)') from None
        onnxruntime.set_default_logger_severity(3)   # errors only: stdout holds the results
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cpu_threads
        options.log_severity_level = 3
        providers = self.providers(args, onnxruntime.get_available_providers())
        try:
            self.session = onnxruntime.InferenceSession(str(model_file), options,
                                                        providers=providers)
        except Exception as e:   # onnxruntime raises its own kinds on a bad file
            raise InferError(f'cannot load model {model_file}: {one_line(e)}') from None
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != ['data']:
            raise InferError(f'model {model_file} takes inputs {inputs}, not one named "data": '
                             'export it with `python main.py -c ID -ex -pp CKPT`')
        self.provider = self.session.get_providers()[0]

    @staticmethod
    def providers(args, available):
        wanted = ['CPUExecutionProvider']
        if args.use_gpu:
            wanted.insert(0, 'CUDAExecutionProvider')
            if args.use_tensorrt:
                wanted.insert(0, 'TensorrtExecutionProvider')
        missing = [p for p in wanted if p not in available]
        if missing:
            notice(f'this ONNX Runtime has no {", ".join(missing)}: running on '
                   f'{", ".join(p for p in wanted if p in available)}')
        elif args.use_tensorrt and not args.use_gpu:
            notice('--use_tensorrt needs --use-gpu; running on the CPU')
        return [p for p in wanted if p in available]

    def __call__(self, batch):
        try:
            return self.session.run(None, {'data': np.ascontiguousarray(batch, np.float32)})[0]
        except Exception as e:
            raise InferError(f'inference failed on a batch of shape {list(batch.shape)}: '
                             f'{one_line(e)}') from None


def make_runner(args, params_file, cpu_threads):
    """ONNX Runtime for a .onnx model file, Paddle Inference for the others."""
    if is_onnx(args.model_file):
        return OnnxRunner(args, args.model_file, cpu_threads)
    import_paddle()
    return Runner(inference_config(args, args.model_file, params_file, cpu_threads),
                  args.model_file)


# ---------------------------------------------------------------- results
def top_k(probs, k):
    return np.argsort(-probs, axis=1, kind='stable')[:, :k]


def print_predictions(names, logits, labels, class_names):
    probs = metrics.softmax(logits.astype(np.float64))
    preds = probs.argmax(axis=1)
    width = max(len(name) for name in names)
    for name, pred, prob, label in zip(names, preds, probs, labels):
        line = f'{name:<{width}}  pred {pred:3d} {class_names[pred]:<40}  prob {prob[pred]:.4f}'
        if label is not None:
            line += f'  true {label:3d} ' + ('ok' if label == pred else
                                             f'WRONG ({class_names[label]})')
        print(line)


def print_accuracy(logits, labels):
    known = [i for i, label in enumerate(labels) if label is not None]
    if not known:
        return
    scores = metrics.summarize(logits[known], [labels[i] for i in known], logits.shape[1])
    top1, top5, n = scores['top1_count'], scores['top5_count'], scores['num_samples']
    print(f'Top-1 accuracy: {top1}/{n} ({100 * top1 / n:.2f}%), '
          f'Top-5 accuracy: {top5}/{n} ({100 * top5 / n:.2f}%)')


def results_json(names, logits, class_names):
    probs = metrics.softmax(logits.astype(np.float64))
    top = top_k(probs, TOP_K)
    return {name: {'pred': int(row[0]),
                   'top5': [[int(c), class_names[c], float(p[c])] for c in row],
                   'logits': [float(v) for v in z]}
            for name, z, p, row in zip(names, logits, probs, top)}


# ---------------------------------------------------------------- benchmark
def time_runs(function, warmup=BENCHMARK_WARMUP, min_runs=BENCHMARK_MIN_RUNS,
              min_seconds=BENCHMARK_MIN_SECONDS):
    """Seconds per call after `warmup` untimed calls: at least min_runs and min_seconds."""
    for _ in range(warmup):
        function()
    times = []
    while len(times) < min_runs or sum(times) < min_seconds:
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return np.array(times)


def full_batch(batch, batch_size):
    """Repeat the samples of a short batch so that the benchmark times batch_size sequences."""
    repeats = -(-batch_size // len(batch))
    return np.concatenate([batch] * repeats)[:batch_size]


def run_benchmark(runner, batch, describe):
    times = time_runs(lambda: runner(batch))
    mean = times.mean()
    print(f'Benchmark ({describe}, batch {len(batch)}): {len(batch) / mean:.2f} sequences/s, '
          f'latency {1000 * mean:.1f} ms per batch (mean of {len(times)} runs after '
          f'{BENCHMARK_WARMUP} warm-up; min {1000 * times.min():.1f} ms)')


def describe_run(args, cpu_threads, runner):
    if isinstance(runner, OnnxRunner):
        return f'ONNX Runtime, {runner.provider}, {cpu_threads} CPU threads'
    if args.use_gpu and gpu_available():
        return f'GPU{", TensorRT " + args.precision if args.use_tensorrt else ""}'
    return (f'CPU, {cpu_threads} threads, oneDNN {"on" if args.enable_mkldnn else "off"}, '
            f'ir_optim {"on" if args.ir_optim else "off"}')


# ---------------------------------------------------------------- main
def open_batches(args, deploy, failures):
    """The batch generator of --skeleton, --pose_file or --data_file (None for a bare
    --benchmark)."""
    if args.skeleton:
        check_ntu_model(deploy)
        files = skeleton_files(args.skeleton, failures)
        if not files and not failures:
            raise InferError(f'no .skeleton files in {" ".join(args.skeleton)}')
        return batched(skeleton_samples(files, deploy, failures), deploy, args.batch_size)
    if args.pose_file:
        samples = open_pose_file(args, deploy, failures)
        if not samples and not failures:
            raise InferError(f'{args.pose_file} holds no samples'
                             f'{" in split " + repr(args.split) if args.split else ""}')
        return batched(pose_samples(samples, deploy, failures), deploy, args.batch_size)
    if args.data_file:
        data, names, labels = open_data_file(args, deploy)
        return batched(zip(names, data, labels), deploy, args.batch_size)
    return None


def predict(runner, batches):
    """Logits of every batch; also the first batch, which the benchmark reuses."""
    names, logits, labels, first = [], [], [], None
    for batch_names, inputs, batch_labels in batches:
        first = inputs if first is None else first
        names += batch_names
        labels += batch_labels
        logits.append(runner(inputs))
    return names, (np.concatenate(logits) if logits else None), labels, first


def report(args, deploy, names, logits, labels):
    class_names = deploy['class_names']
    print_predictions(names, logits, labels, class_names)
    print_accuracy(logits, labels)
    if args.output:
        save_json(results_json(names, logits, class_names), args.output)
        print(f'Wrote {args.output}')


def run(args):
    check_args(args)
    deploy = read_deploy_config(args.model_file)
    params_file = params_path(args, deploy)
    failures = []
    batches = open_batches(args, deploy, failures)   # data errors surface before paddle loads
    cpu_threads = configure_threads(args.cpu_threads)
    runner = make_runner(args, params_file, cpu_threads)
    first = None
    if batches is not None:
        names, logits, labels, first = predict(runner, batches)
        if not names:
            raise InferError('no sample could be processed')
        if failures:
            print(f'warning: skipped {len(failures)} of {len(failures) + len(names)} inputs '
                  f'that could not be read (see the error lines above)', file=sys.stderr)
        report(args, deploy, names, logits, labels)
    if args.benchmark:
        if first is None:
            first = np.random.RandomState(0).standard_normal(
                [args.batch_size] + deploy['input_shape'][1:]).astype(np.float32)
        run_benchmark(runner, full_batch(first, args.batch_size),
                      describe_run(args, cpu_threads, runner))


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
    tune_process(openmp_spin=True)   # Paddle Inference runs every op in OpenMP: keep its spin
    sys.exit(main())
