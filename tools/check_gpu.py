"""Checks this repository on a GPU, once, before a long run (docs/gpu.md):

    python tools/check_gpu.py [--checkpoint xsub.pdparams] [--skeletons FOLDER]

1. the demo (config 1001) trains one epoch on `-g 0` in float32, with `--amp` (O1) and with
   `--amp O2`: each log says gpu:0 and its precision, every loss is finite; AMP O1 and O2 keep
   their losses finite while the loss scale moves (a GradScaler that grows every 2 steps);
2. a run killed after its first epoch and resumed with `-r` ends with the parameters of a run
   that was not killed (cuDNN's deterministic algorithms on for both);
3. with two or more GPUs, `-g 0 1` trains in two processes: 8 + 8 of a global batch of 16, the
   steps of an epoch of 16, every eval sample scored once, identical parameters and batch-norm
   statistics on both;
4. the peak GPU memory of one B0 training step at 288 frames and batch 16;
5. `-e` and `-v` of the float32 run's best model on `-g 0`;
6. `-ex` (checked on the CPU in float32), and infer.py on the demo's eval split against
   infer.py on the CPU: Paddle Inference on the GPU with TF32 off (1e-3) and as it runs by
   default (TF32: precision.py's bound and top-1); the .onnx on ONNX Runtime's CUDA provider and
   `--use_tensorrt`, each shown to have really run there (the provider the session uses; the
   TensorRT engine ops in the program), reported as skipped where the packages lack them;
7. the published X-sub checkpoint's logits on the real NTU .skeleton files on the GPU, TF32 off
   and on, against the CPU (`--checkpoint`, `--skeletons`; default ../shared beside the
   repository).

Each check prints one line, `ok:`, `FAILED:` or `skipped:`; the exit code is 0 when none failed.
Where there is no GPU it prints one line saying why, checks nothing and exits 1. The runs go to a
temporary folder, removed when every check passed (kept, and named, otherwise).
"""
import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.gpu_checks import Report, deployment, published, training  # noqa: E402


@dataclass
class Context:
    """What the checks share: their folder, the command line's files, the GPUs visible, and the
    float32 demo run (set by the first check)."""
    folder: Path
    checkpoint: Path
    skeletons: Path
    gpu_count: int
    float32_run: Optional[Path] = None


@dataclass
class Step:
    name: str
    check: Callable
    gpus: int = 1              # GPUs it needs
    needs_demo_run: bool = False


STEPS = [
    Step('the demo epochs', training.demo_epochs),
    Step('AMP loss scaling', training.loss_scaling),
    Step('kill and -r', training.kill_and_resume),
    Step('two processes', training.two_processes, gpus=2),
    Step('peak memory', training.peak_memory),
    Step('-e and -v', training.evaluate_and_pictures, needs_demo_run=True),
    Step('export and inference', deployment.export_and_infer, needs_demo_run=True),
    Step('the published checkpoint',
         lambda report, context: published.compare_published(report, context.checkpoint,
                                                             context.skeletons)),
]


def skip_reason(step, context):
    """Why `step` cannot run here, or None."""
    if context.gpu_count < step.gpus:
        return f'{step.name}: needs {step.gpus} GPUs, {context.gpu_count} visible'
    if step.needs_demo_run and context.float32_run is None:
        return f'{step.name}: the float32 demo run failed'
    return None


def run_steps(report, context, steps=None):
    for step in STEPS if steps is None else steps:
        why = skip_reason(step, context)
        if why:
            report.skip(why)
            continue
        try:
            step.check(report, context)
        except Exception as e:   # a check that breaks is a failed check, and the others run
            report.fail(f'{step.name}: {type(e).__name__}: {e}')


def main(argv=None):
    shared = REPO.parent / 'shared'
    parser = argparse.ArgumentParser(description='Check training, export and inference on GPUs')
    parser.add_argument('--checkpoint', type=Path,
                        default=shared / 'pretrained' / 'xsub.pdparams',
                        help='the published X-sub checkpoint (xsub.pdparams)')
    parser.add_argument('--skeletons', type=Path, default=shared / 'ntu' / 'skeletons',
                        help='a folder of NTU RGB+D .skeleton files')
    args = parser.parse_args(argv)
    from utils.runtime import gpu_missing_reason, import_paddle
    paddle = import_paddle()
    missing = gpu_missing_reason()
    if missing:
        print(f'check_gpu: no GPU here: {missing}; nothing checked')
        return 1
    report = Report()
    context = Context(Path(tempfile.mkdtemp(prefix='check_gpu_')), args.checkpoint,
                      args.skeletons, paddle.device.cuda.device_count())
    run_steps(report, context)
    if report.failed:
        print(f'{report.failed} check(s) failed; the runs are in {context.folder}')
    else:
        shutil.rmtree(context.folder, ignore_errors=True)
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
