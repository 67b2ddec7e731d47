"""deploy.Recognizer: an exported model loaded once, predicting skeleton files, pose
annotations, arrays and videos from a script; infer.py is its command line.

    from deploy import Recognizer
    recognizer = Recognizer('xsub.json', batch_size=8)
    for result in recognizer.predict_skeletons(['S001C001P001R001A001.skeleton']):
        print(result.name, result.class_name, result.probability)
"""
from pathlib import Path

import numpy as np

from .batches import batched
from .benchmark import full_batch, random_batch, run_benchmark
from .messages import InferError
from .model_config import params_path, read_deploy_config
from .options import RuntimeOptions
from .precision import model_runner
from .predictions import predictions, video_prediction
from .runtimes import configure_threads, make_runner
from .sources import arrays, finite_samples, pose_file, skeleton
from . import video_pipeline
from .video_pipeline import STREAM_TIMEOUT_S


def path_list(paths):
    """One path or several, as a list."""
    return [paths] if isinstance(paths, (str, Path)) else list(paths)


class Recognizer:
    """The exported model `model_file` (`<stem>.json` / `.pdmodel` in Paddle Inference, `.onnx`
    in ONNX Runtime) with the `<stem>.yml` -ex wrote beside it, which says how to prepare an
    input as training did. `runtime` takes deploy.options.RuntimeOptions' names (use_gpu,
    cpu_threads, batch_size, enable_mkldnn, ...). The model loads once, here; with load=False at
    the first prediction, so that a bad input is reported before the runtime starts (infer.py).

    Every predict_... method reports an input it cannot read as an `error:` line on stderr and
    goes on with the others (their names in the result's `skipped`); a problem with the whole
    input, or the model, raises InferError."""

    def __init__(self, model_file, params_file=None, load=True, **runtime):
        self.options = RuntimeOptions.of(runtime)
        self.model_file = Path(model_file)
        self.deploy = read_deploy_config(model_file)
        params_path(model_file, params_file, self.deploy)   # a missing file fails here
        self.given_params = params_file
        self.class_names = self.deploy['class_names']
        self._runner = None
        self.first_batch = None   # the first model input predicted, which benchmark() reuses
        if load:
            self.runner   # noqa: B018 - loads the model

    @property
    def runner(self):
        """The runtime's call: (N, I, 6, T, V, M) float32 model inputs -> (N, num_class); on
        the CPU the form `precision` picks (deploy/precision.py), whose .yml becomes
        self.deploy."""
        if self._runner is None:
            self._runner, self.deploy = model_runner(
                self.model_file, self.given_params, self.options, self.deploy,
                configure_threads(self.options.cpu_threads), make_runner)
        return self._runner

    def predict_skeletons(self, paths):
        """Raw NTU .skeleton files, or folders of them (one path or a list)."""
        failures = []
        return self._predict(skeleton.open_samples(path_list(paths), self.deploy, failures),
                             failures)

    def predict_poses(self, poses, split=None):
        """A pose-annotation pickle's path (mmaction2 / pyskl) or what one holds (a dict with
        split and annotations, a list of annotations, one annotation); every sample, or those
        of `split`."""
        failures = []
        return self._predict(pose_file.open_samples(poses, split, self.deploy, failures),
                             failures)

    def predict_arrays(self, data, labels=None, names=None, label_file=None):
        """Arrays as -gd writes them: an array (N, C, T, V, M) or one sample (C, T, V, M), with
        its labels and names when known; or a {phase}_data.npy path with its label_file."""
        failures = []
        return self._predict(arrays.open_samples(data, label_file, self.deploy, failures,
                                                 names, labels), failures)

    def predict_video(self, source, stride=30, mirrored=False, on_window=None, save_video=None,
                      stream_timeout=STREAM_TIMEOUT_S, name=None):
        """A video file, camera index ('0') or stream address: windows of the model's frames
        every `stride` frames (deploy/video_pipeline.py), `mirrored` for videos mirrored left to
        right (Kinect colour streams); `on_window(entry)` as each window's result is known;
        `save_video` a file to draw the people and the top-1 into. A VideoPrediction; a video
        that cannot be read, shows nobody or is too short raises reader.video.VideoError."""
        entry = video_pipeline.predict_video(source, self.runner, self.deploy, stride, mirrored,
                                             self.options.batch_size, on_window=on_window,
                                             save_video=save_video,
                                             stream_timeout=stream_timeout)
        return video_prediction(name or (Path(source).stem if Path(source).suffix else
                                         str(source)), entry)

    def logits(self, inputs):
        """The model on a batch of model inputs (N, I, 6, T, V, M), as the feeder builds them."""
        return self.runner(np.asarray(inputs, np.float32))

    def benchmark(self, batch=None):
        """Prints throughput and latency on a full batch of `batch` (default: the first batch
        predicted, else a random one)."""
        batch = batch if batch is not None else self.first_batch
        if batch is None:
            batch = random_batch(self.options.batch_size, self.deploy['input_shape'])
        run_benchmark(self.runner, full_batch(batch, self.options.batch_size))

    def _predict(self, samples, failures):
        names, logits, labels = [], [], []
        for batch_names, inputs, batch_labels in batched(finite_samples(samples, failures),
                                                         self.deploy, self.options.batch_size):
            if self.first_batch is None:
                self.first_batch = inputs
            names += batch_names
            labels += batch_labels
            logits.append(self.runner(inputs))
        logits = np.concatenate(logits) if logits else np.zeros((0, len(self.class_names)))
        return predictions(names, logits, labels, self.class_names, failures)
