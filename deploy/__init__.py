"""Deployment of an exported model: `Recognizer` (deploy/recognizer.py) loads it once and
predicts skeleton files, pose annotations, arrays and videos; infer.py is its command line.

- `options`: how a runtime runs the model (infer.py's options, the Recognizer's keywords);
- `predictions`: the result objects (Prediction, VideoPrediction);
- `model_config`: the `<stem>.yml` that -ex writes beside the model, and what a sample must be
  to fit the model;
- `sources/`: one module per kind of input (the skeleton files of dataset/sources.py, pose pickles,
  generated arrays), each yielding (name, sample, label) prepared as -gd prepares it;
- `batches`: samples into the model's J/V/B input batches, as the feeder builds them;
- `runtimes/`: Paddle Inference and ONNX Runtime behind one call (a batch in, logits out);
- `results`: the printed lines, the accuracy and the JSON file;
- `benchmark`: throughput and latency of a runtime;
- `messages`: the one-line errors, warnings and notices on stderr.
"""

from .messages import InferError   # noqa: E402,F401
from .recognizer import Recognizer   # noqa: E402,F401
