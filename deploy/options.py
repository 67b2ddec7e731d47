"""How a runtime runs an exported model: the options of infer.py's command line (and of
deploy.Recognizer's keyword arguments), as one plain object the runtimes read."""
from dataclasses import dataclass, fields

from .messages import InferError

PRECISIONS = ('fp32', 'fp16', 'int8', 'bf16', 'auto')


@dataclass
class RuntimeOptions:
    """use_gpu: GPU 0 (the CPU when Paddle or ONNX Runtime has no CUDA); gpu_mem: Paddle
    Inference's initial GPU memory pool in MB; enable_mkldnn: oneDNN kernels on the CPU;
    cpu_threads: CPU math threads (None: all cores, or OMP_NUM_THREADS); precision: on the CPU
    int8 / bf16 run the quantised form beside the model, auto the fastest accepted one
    (deploy/precision.py), on a GPU fp16 / int8 are TensorRT's; ir_optim: Paddle Inference's
    graph passes; use_tensorrt: TensorRT subgraphs (or ONNX Runtime's TensorRT provider);
    batch_size: samples a model call."""
    use_gpu: bool = False
    gpu_mem: int = 8000
    enable_mkldnn: bool = True
    cpu_threads: int = None
    precision: str = 'fp32'
    ir_optim: bool = True
    use_tensorrt: bool = False
    batch_size: int = 16

    def __post_init__(self):
        if self.batch_size < 1:
            raise InferError(f'batch size must be at least 1, got {self.batch_size}')
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise InferError(f'cpu_threads must be at least 1, got {self.cpu_threads}')
        if self.precision not in PRECISIONS:
            raise InferError(f'precision {self.precision!r}: give one of {", ".join(PRECISIONS)}')

    @classmethod
    def names(cls):
        return [field.name for field in fields(cls)]

    @classmethod
    def of(cls, options):
        """RuntimeOptions from a dict of some of its names; an unknown name is an InferError."""
        unknown = sorted(set(options) - set(cls.names()))
        if unknown:
            raise InferError(f'unknown runtime option {unknown[0]!r}: the options are '
                             f'{", ".join(cls.names())}')
        return cls(**options)
