"""ONNX Runtime: the exported `<stem>.onnx` on the CPU, or with its CUDA / TensorRT providers
where the installed runtime has them; describe() names the provider the session really runs
on, and a notice says so when it is not the one asked for."""
import numpy as np

from ..messages import InferError, notice, one_line
from . import batch_shape_range


def preload_cuda_libraries(onnxruntime):
    """Let ONNX Runtime's CUDA provider find the CUDA and cuDNN libraries that pip installed
    (the nvidia-* packages paddlepaddle-gpu brings) before a session loads it; ONNX Runtime 1.21
    and newer have onnxruntime.preload_dlls(), older ones search the system's paths only."""
    preload = getattr(onnxruntime, 'preload_dlls', None)
    if preload is not None:
        try:
            preload()
        except Exception:   # noqa: BLE001 - best effort: the session says what it could start
            pass


class OnnxRunner:
    """An ONNX Runtime session fed through the model's `data` input; returns the logits. On a
    GPU the CUDA provider (TensorRT's first with --use_tensorrt), where the installed runtime
    has them; on the CPU cpu_threads threads, as Paddle Inference is given."""

    def __init__(self, options, model_file, cpu_threads, input_shape=None):
        try:
            import onnxruntime
        except ImportError:
            raise InferError(f'{model_file} is an ONNX model: install ONNX Runtime with '
                             '`pip install onnxruntime` (onnxruntime-gpu for GPUs)') from None
        onnxruntime.set_default_logger_severity(3)   # errors only: stdout holds the results
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = cpu_threads
        session_options.log_severity_level = 3
        providers = self.providers(options, onnxruntime.get_available_providers(), input_shape)
        if options.use_gpu:
            preload_cuda_libraries(onnxruntime)
        try:
            self.session = onnxruntime.InferenceSession(str(model_file), session_options,
                                                        providers=providers)
        except Exception as e:   # onnxruntime raises its own kinds on a bad file
            raise InferError(f'cannot load model {model_file}: {one_line(e)}') from None
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != ['data']:
            raise InferError(f'model {model_file} takes inputs {inputs}, not one named "data": '
                             'export it with `python main.py -c ID -ex -pp CKPT`')
        self.provider = self.session.get_providers()[0]
        asked = providers[0][0] if isinstance(providers[0], tuple) else providers[0]
        if self.provider != asked:
            notice(f'ONNX Runtime could not start its {asked} (the CUDA and cuDNN libraries '
                   f'its build links were not found or do not fit: docs/gpu.md): running '
                   f'on {self.provider}')
        self.cpu_threads = cpu_threads

    @staticmethod
    def providers(options, available, input_shape=None):
        """The execution providers to ask for, best first; TensorRT's with the batch axis'
        range as its profile (trt_profile_*_shapes, 'data:1x3x6x288x25x2')."""
        wanted = ['CPUExecutionProvider']
        if options.use_gpu:
            wanted.insert(0, 'CUDAExecutionProvider')
            if options.use_tensorrt:
                wanted.insert(0, 'TensorrtExecutionProvider')
        missing = [p for p in wanted if p not in available]
        if missing:
            notice(f'this ONNX Runtime has no {", ".join(missing)}: running on '
                   f'{", ".join(p for p in wanted if p in available)}')
        elif options.use_tensorrt and not options.use_gpu:
            notice('--use_tensorrt needs --use-gpu; running on the CPU')
        providers = [p for p in wanted if p in available]
        if providers[0] == 'TensorrtExecutionProvider' and input_shape is not None:
            shapes = ['data:' + 'x'.join(map(str, shape))
                      for shape in batch_shape_range(input_shape, options.batch_size)]
            providers[0] = (providers[0], dict(zip(
                ('trt_profile_min_shapes', 'trt_profile_opt_shapes', 'trt_profile_max_shapes'),
                shapes)))
        return providers

    def describe(self):
        return f'ONNX Runtime, {self.provider}, {self.cpu_threads} CPU threads'

    def __call__(self, batch):
        try:
            return self.session.run(None, {'data': np.ascontiguousarray(batch, np.float32)})[0]
        except Exception as e:
            raise InferError(f'inference failed on a batch of shape {list(batch.shape)}: '
                             f'{one_line(e)}') from None
