"""--precision on the CPU: which exported form of the model runs.

`main.py -ex --quantize int8|bf16` writes the quantised forms beside the float32 model and lists
them in its .yml (`quantized`): int8 is an ONNX Runtime model (`<stem>_int8.onnx`), bf16 a
Paddle Inference one (`<stem>_bf16.json`). `--precision int8|bf16` runs that form; `auto` times
float32 and each accepted form of the model file's own runtime on one batch here and runs the
fastest. A form whose export check failed is never chosen by them (run by its own file, it
runs, with a warning). On a GPU --precision keeps its TensorRT meaning (fp16, int8)."""
from dataclasses import replace
from pathlib import Path

from .benchmark import random_batch, time_runs
from .messages import notice, warn
from .model_config import is_onnx, params_path, read_deploy_config

CPU_CHOICES = ('auto', 'bf16', 'int8')
TRIAL_RUNS = 2   # timed runs per form for auto, after one warm-up


def float_model_of(model_file, deploy):
    """The float32 model a quantised one was made from (itself for a float32 model)."""
    if deploy.get('float_model'):
        return Path(model_file).parent / deploy['float_model']
    return Path(model_file)


def accepted_forms(float_model, float_deploy):
    """precision -> model file of each quantised form the export check accepted."""
    folder = Path(float_model).parent
    return {precision: folder / entry['model_file']
            for precision, entry in (float_deploy.get('quantized') or {}).items()
            if entry.get('accepted') and (folder / entry['model_file']).is_file()}


def model_runner(model_file, params_file, options, deploy, cpu_threads, make_runner):
    """(runner, deploy config) of the form options.precision picks for model_file (params_file:
    the weights given for it, None for those its .yml names)."""
    if options.use_gpu or options.precision not in CPU_CHOICES:
        warn_if_rejected(model_file, deploy)
        return runner_of(model_file, params_file, options, deploy, cpu_threads,
                         make_runner), deploy
    wanted = options.precision
    options = replace(options, precision='fp32')   # consumed here: no TensorRT notice
    float_model = float_model_of(model_file, deploy)
    float_params = params_file if Path(float_model) == Path(model_file) else None
    float_deploy = read_deploy_config(float_model)
    forms = accepted_forms(float_model, float_deploy)
    if wanted != 'auto':
        if wanted not in forms:
            notice(f'no accepted {wanted} model beside {float_model} (export with `main.py -c '
                   f'ID -ex -pp CKPT --quantize {wanted}`): running float32')
            return runner_of(float_model, float_params, options, float_deploy, cpu_threads,
                             make_runner), float_deploy
        return chosen(forms[wanted], options, cpu_threads, make_runner)
    candidates = [float_model] + [path for precision, path in forms.items()
                                  if is_onnx(path) == is_onnx(float_model)
                                  and not (precision == 'bf16' and runs_in_float32())]
    return fastest(candidates, float_params, options, cpu_threads, make_runner)


def chosen(model_file, options, cpu_threads, make_runner, params_file=None):
    deploy = read_deploy_config(model_file)
    return runner_of(model_file, params_file, options, deploy, cpu_threads, make_runner), deploy


def runner_of(model_file, params_file, options, deploy, cpu_threads, make_runner):
    params = params_path(model_file, params_file, deploy)
    precision = deploy.get('precision', 'fp32')
    runner = make_runner(model_file, params, options, cpu_threads, deploy['input_shape'],
                         model_precision=precision)
    if precision == 'bf16' and not options.use_gpu and bf16_note():
        notice(f'{model_file}: {bf16_note()}')
    return runner


def fastest(candidates, float_params, options, cpu_threads, make_runner):
    """--precision auto: each candidate timed on one random batch; the fastest runs (the first
    candidate is the float32 model, with its given weights float_params)."""
    if len(candidates) == 1:
        notice(f'--precision auto: no accepted quantised form of {candidates[0]} for its '
               f'runtime: running float32')
        return chosen(candidates[0], options, cpu_threads, make_runner, float_params)
    trials = []
    for index, model_file in enumerate(candidates):
        runner, deploy = chosen(model_file, options, cpu_threads, make_runner,
                                float_params if index == 0 else None)
        batch = random_batch(options.batch_size, deploy['input_shape'])
        speed = len(batch) / time_runs(lambda: runner(batch), warmup=1, min_runs=TRIAL_RUNS,
                                       min_seconds=0).mean()
        trials.append((speed, runner, deploy, model_file))
    speed, runner, deploy, model_file = max(trials, key=lambda trial: trial[0])
    notice('--precision auto: ' + ', '.join(
        f'{trial[2].get("precision", "fp32")} {trial[0]:.2f} seq/s' for trial in trials) +
        f' here: running {model_file}')
    return runner, deploy


def bf16_note():
    """Why a bf16 model does not run in bfloat16 here, or None where Paddle Inference runs it so
    (its oneDNN bfloat16 passes need avx512_core, and emulate bfloat16 without avx512_bf16)."""
    from paddle.base import core
    if runs_in_float32():
        return 'this CPU has no AVX-512 (avx512_core), so Paddle Inference runs it in float32'
    if not core.supports_bfloat16_fast_performance():
        return 'this CPU has no avx512_bf16: oneDNN emulates bfloat16'
    return None


def runs_in_float32():
    """bf16 is no choice where Paddle runs it in float32 (no AVX-512)."""
    from paddle.base import core
    return not core.supports_bfloat16()


def warn_if_rejected(model_file, deploy):
    record = deploy.get('check') or {}
    if record.get('accepted') is False:
        warn(f'{model_file} failed its export check (top-1 agreement with float32 below '
             f'{record.get("min_agreement")}): its results may differ from the float32 model\'s')
