"""Checks this repository on a GPU, once, as a user with a GPU runs it (README, "On a GPU"):

    python tools/check_gpu.py [--checkpoint xsub.pdparams] [--skeletons FOLDER]

1. the demo (config 1001) trains one epoch on `-g 0`: in float32, with `--amp` (O1) and with
   `--amp O2`; each run's log must say it ran on gpu:0 at that precision;
2. the float32 run's best model is exported (`-ex`), and `infer.py --use-gpu` runs it on the
   demo's eval split: on the GPU, with the logits of infer.py on the CPU (1e-3); its .onnx too
   where ONNX Runtime has the CUDA provider, and `--use_tensorrt` where Paddle has TensorRT
   (these two are reported, not failed, when the installed packages lack them);
3. the published X-sub checkpoint's logits on the real NTU .skeleton files, evaluated as the
   engine evaluates (the folded model) on the GPU and on the CPU, agree within 1e-3
   (`--checkpoint` and `--skeletons` name them; default: ../shared beside the repository).

Each check prints one line, `ok:`, `FAILED:` or `skipped:`; the exit code is 0 when none failed.
Where there is no GPU it prints one line saying why, checks nothing and exits 1. The runs go to a
temporary folder, removed when every check passed (kept, and named, otherwise).
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOLERANCE = 1e-3
DEMO = '1001'


class Check:
    """The checks' outcomes, one printed line each."""

    def __init__(self):
        self.failed = 0

    def ok(self, what):
        print(f'ok: {what}', flush=True)

    def fail(self, what):
        self.failed += 1
        print(f'FAILED: {what}', flush=True)

    def skip(self, what):
        print(f'skipped: {what}', flush=True)

    def expect(self, passed, what, why=''):
        if passed:
            self.ok(what)
        else:
            self.fail(f'{what}{": " + why if why else ""}')
        return passed


def run(*args):
    """python ARGS... from the repository, as a user runs it."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def last_line(result):
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f'exit code {result.returncode}'


def demo_settings(folder):
    return ['--set', f'dataset_args.ntu.root_folder={folder / "npy"}',
            '--set', f'dataset_args.ntu.ntu60_path={folder / "skeletons"}']


def train_demo(check, folder, name, amp_args, precision):
    """One epoch of the demo on GPU 0; returns its run folder (None when it failed)."""
    work_dir = folder / name
    result = run('main.py', '-c', DEMO, '-g', '0', '-np', '-w', work_dir, *amp_args,
                 *demo_settings(folder), '--set', 'scheduler_args.cosine.max_epoch=1',
                 '--set', 'scheduler_args.cosine.warm_up=0')
    what = f'demo {DEMO}, one epoch on -g 0, {precision}'
    if not check.expect(result.returncode == 0, what, last_line(result)):
        return None
    log = result.stdout
    on_gpu = 'Devices gpu:0 ' in log and precision in log   # the run record's line
    check.expect(on_gpu, f'{what}: the log says gpu:0 and {precision}',
                 'it does not (see ' + str(work_dir) + ')')
    return next(work_dir.glob('*/*/'), None) if on_gpu else None


def infer_logits(model_file, data_args, name, *flags):
    """infer.py's logits (sample -> list), or None and the line that says why not (an error,
    or a notice that it ran elsewhere than asked)."""
    output = model_file.parent / f'{name}.json'
    result = run('infer.py', '--model_file', model_file, *data_args, '--output', output, *flags)
    if result.returncode != 0:
        return None, last_line(result)
    notices = [line for line in result.stderr.splitlines() if line.startswith('notice:')]
    if notices:
        return None, notices[0]
    results = json.loads(output.read_text())
    return {name: entry['logits'] for name, entry in results.items()}, None


def largest_difference(a, b):
    import numpy as np
    return max(float(np.abs(np.subtract(a[name], b[name])).max()) for name in a)


def export_and_infer(check, folder, run_dir):
    checkpoint = run_dir / 'best.pdparams'
    result = run('main.py', '-c', DEMO, '-g', '0', '-ex', '-pp', checkpoint,
                 *demo_settings(folder))
    if not check.expect(result.returncode == 0, 'export (-ex) on the GPU', last_line(result)):
        return
    data = folder / 'npy' / 'original' / 'ntu-xsub'
    data_args = ['--data_file', data / 'eval_data.npy', '--label_file', data / 'eval_label.pkl']
    stem = checkpoint.with_suffix('')
    model_file = next(p for p in (stem.with_suffix('.json'), stem.with_suffix('.pdmodel'))
                      if p.is_file())
    cpu, why = infer_logits(model_file, data_args, 'cpu')
    if not check.expect(cpu is not None, 'infer.py on the CPU', why):
        return
    gpu, why = infer_logits(model_file, data_args, 'gpu', '--use-gpu')
    if check.expect(gpu is not None, 'infer.py --use-gpu (Paddle Inference)', why):
        difference = largest_difference(gpu, cpu)
        check.expect(difference <= TOLERANCE, f'infer.py --use-gpu logits = CPU logits '
                     f'(max difference {difference:.1e}, tolerance {TOLERANCE})')
    optional = [(model_file, 'tensorrt', ['--use-gpu', '--use_tensorrt'],
                 'infer.py --use_tensorrt')]
    if stem.with_suffix('.onnx').is_file():
        optional.append((stem.with_suffix('.onnx'), 'onnx_gpu', ['--use-gpu'],
                         'infer.py --use-gpu on the .onnx (ONNX Runtime, CUDA provider)'))
    for model, name, flags, what in optional:
        logits, why = infer_logits(model, data_args, name, *flags)
        if logits is None:
            check.skip(f'{what}: {why}')
            continue
        difference = largest_difference(logits, cpu)
        check.expect(difference <= TOLERANCE, f'{what} logits = CPU logits (max difference '
                     f'{difference:.1e})')


def published_logits(checkpoint, skeletons, device):
    """The checkpoint's logits on every .skeleton file of the folder, on device, evaluated as
    the engine evaluates: the folded model (with the CPU backend on the CPU)."""
    import numpy as np
    import paddle

    import model
    from utils.config import load_config
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model import cpu_backend
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from reader import load_sample
    paddle.set_device(device)
    net, graph, data_shape, _ = build_model(load_config('2001'))
    load_model_state(net, model_state_of(load_checkpoint(checkpoint)), checkpoint)
    folded = model.reparameterize(net)
    if device == 'cpu':
        cpu_backend.install(folded)
    files = sorted(Path(skeletons).glob('*.skeleton'))
    batch = np.stack([build_inputs(load_sample(str(f))[0][:, :data_shape[2]], 'JVB',
                                   graph.connect_joint) for f in files])
    with paddle.no_grad():
        return {f.name: row for f, row in zip(files, folded(paddle.to_tensor(batch))[0].numpy())}


def compare_published(check, checkpoint, skeletons):
    if not (Path(checkpoint).is_file() and any(Path(skeletons).glob('*.skeleton'))):
        check.skip(f'the published X-sub checkpoint on real files: give --checkpoint '
                   f'(xsub.pdparams) and --skeletons (a folder of NTU .skeleton files); '
                   f'{checkpoint} or {skeletons} is absent')
        return
    gpu = published_logits(checkpoint, skeletons, 'gpu:0')
    cpu = published_logits(checkpoint, skeletons, 'cpu')
    difference = largest_difference(gpu, cpu)
    check.expect(difference <= TOLERANCE, f'the published X-sub checkpoint on {len(gpu)} real '
                 f'files: GPU logits = CPU logits (max difference {difference:.1e}, tolerance '
                 f'{TOLERANCE})')


def main(argv=None):
    shared = REPO.parent / 'shared'
    parser = argparse.ArgumentParser(description='Check training, export and inference on GPU 0')
    parser.add_argument('--checkpoint', default=shared / 'pretrained' / 'xsub.pdparams',
                        help='the published X-sub checkpoint (xsub.pdparams)')
    parser.add_argument('--skeletons', default=shared / 'ntu' / 'skeletons',
                        help='a folder of NTU RGB+D .skeleton files')
    args = parser.parse_args(argv)
    from utils.runtime import gpu_missing_reason, import_paddle
    import_paddle()
    missing = gpu_missing_reason()
    if missing:
        print(f'check_gpu: no GPU here: {missing}; nothing checked')
        return 1
    check = Check()
    folder = Path(tempfile.mkdtemp(prefix='check_gpu_'))
    float32 = train_demo(check, folder, 'float32', [], 'float32')
    train_demo(check, folder, 'amp_o1', ['--amp'], 'mixed precision O1')
    train_demo(check, folder, 'amp_o2', ['--amp', 'O2'], 'mixed precision O2')
    if float32 is not None:
        export_and_infer(check, folder, float32)
    else:
        check.skip('export and infer.py: the float32 demo run failed')
    compare_published(check, args.checkpoint, args.skeletons)
    if check.failed:
        print(f'{check.failed} check(s) failed; the runs are in {folder}')
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if check.failed else 0


if __name__ == '__main__':
    sys.exit(main())
