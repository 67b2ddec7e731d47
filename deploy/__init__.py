"""Deployment of an exported model (infer.py is its command line).

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
