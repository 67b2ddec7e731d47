"""check_gpu's checks of the exported files on the GPU: -ex, then infer.py on the demo's eval
split with Paddle Inference on the GPU (float32 with TF32 off, and as it runs by default), the
.onnx in ONNX Runtime's CUDA provider and --use_tensorrt, each against infer.py on the CPU.
ONNX Runtime's and TensorRT's runs must show where they ran (their --benchmark line names the
provider the session uses, and the TensorRT engine ops of the program the predictor loaded)."""
import json
import re

from . import DEMO, demo_settings, precision, run

ENGINES = re.compile(r'(\d+) engine ops')
# infer.py's notices that the installed packages lack a runtime (an onnxruntime built without
# the provider, a Paddle without paddle.tensorrt: deploy/runtimes/onnx_runtime.py,
# tensorrt_pir.py); any other notice says an installed runtime did not run where it was asked to
PACKAGES_LACKING = ('this ONNX Runtime has no ', 'which this Paddle cannot import')


def infer(model_file, data_args, output, *flags, env=None):
    """infer.py's logits (sample -> list) and its --benchmark line (when asked), or None and the
    line that says why not: an error, or a notice that it ran elsewhere than asked."""
    result = run('infer.py', '--model_file', model_file, *data_args, '--output', output, *flags,
                 env=env)
    if result.returncode != 0:
        return None, result.last_line
    notices = [line for line in result.stderr.splitlines() if line.startswith('notice:')]
    if notices:
        return None, notices[0]
    benchmark = next((line for line in result.stdout.splitlines()
                      if line.startswith('Benchmark (')), '')
    logits = json.loads(output.read_text())
    return {name: entry['logits'] for name, entry in logits.items()}, benchmark


def export(report, context):
    """-ex of the float32 demo run's best model; returns its model file (None if it failed)."""
    checkpoint = context.float32_run / 'best.pdparams'
    result = run('main.py', '-c', DEMO, '-g', '0', '-ex', '-pp', checkpoint,
                 *demo_settings(context.folder))
    checked = 'checked on the CPU in float32' in result.stdout + result.stderr
    if not report.expect(result.returncode == 0 and checked,
                         'export (-ex) with -g 0, checked on the CPU in float32', result.last_line):
        return None
    stem = checkpoint.with_suffix('')
    return next(p for p in (stem.with_suffix('.json'), stem.with_suffix('.pdmodel')) if p.is_file())


def export_and_infer(report, context):
    model_file = export(report, context)
    if model_file is None:
        return
    data = context.folder / 'npy' / 'original' / 'ntu-xsub'
    data_args = ['--data_file', data / 'eval_data.npy', '--label_file', data / 'eval_label.pkl']
    out = model_file.parent
    cpu, why = infer(model_file, data_args, out / 'cpu.json')
    if not report.expect(cpu is not None, 'infer.py on the CPU', why):
        return
    for tf32 in (False, True):
        what = f'infer.py --use-gpu (Paddle Inference{", TF32 off" if not tf32 else ""})'
        gpu, why = infer(model_file, data_args, out / f'gpu_{int(tf32)}.json', '--use-gpu',
                         env=precision.environment(tf32))
        if report.expect(gpu is not None, what, why):
            passed, words = precision.judge(gpu, cpu, tf32)
            report.expect(passed, f'{what} logits = CPU logits ({words})')
    onnx = model_file.with_suffix('.onnx')
    runs = [(model_file, ['--use_tensorrt'], 'infer.py --use_tensorrt', used_tensorrt)]
    if onnx.is_file():
        runs.append((onnx, [], 'infer.py --use-gpu on the .onnx (ONNX Runtime)', used_cuda))
    for model, flags, what, used in runs:
        logits, said = infer(model, data_args, out / f'{model.suffix[1:]}_gpu.json', '--use-gpu',
                             '--benchmark', *flags)
        if logits is None:   # the packages lack it: skipped; it is installed and broken: failed
            (report.skip if packages_lacking(said) else report.fail)(f'{what}: {said}')
            continue
        if report.expect(used(said), f'{what} really ran there', said):
            passed, words = precision.judge(logits, cpu, tf32=True)
            report.expect(passed, f'{what} logits = CPU logits ({words})')


def packages_lacking(said):
    """Whether infer.py's line is a notice that the installed packages lack the runtime."""
    return said.startswith('notice:') and any(words in said for words in PACKAGES_LACKING)


def used_tensorrt(benchmark):
    """TensorRT engine ops in the program a .json ran as, or an old-format program's
    TensorRT subgraphs."""
    found = ENGINES.search(benchmark)
    return bool(found) and int(found.group(1)) > 0 or 'subgraphs' in benchmark


def used_cuda(benchmark):
    return 'CUDAExecutionProvider' in benchmark or 'TensorrtExecutionProvider' in benchmark
