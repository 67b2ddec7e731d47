"""check_gpu's checks of the engine on the GPU: the demo's epochs at each precision, AMP's loss
scaling, a kill and -r resume, a two-process launch, -e and -v, and the peak memory of a B0
training step. The in-process measurements run in a child process each:

    python -m tools.gpu_checks.training loss_scaling O1|O2
    python -m tools.gpu_checks.training peak_memory
"""
import json
import math
import os
import re
import sys

import numpy as np

from . import DEMO, demo_settings, kill_once_written, run

DEMO_FOLDER = f'{DEMO}_EfficientGCN-B0_ntu-xsub'   # the demo's runs and resumable checkpoint
PRECISIONS = [('float32', []), ('mixed precision O1', ['--amp']),
              ('mixed precision O2', ['--amp', 'O2'])]
LOSS = re.compile(r'Loss: (\S+),')


def demo_run(folder, work_dir, *extra, epochs=1, gpus=('0',), env=None):
    """main.py on the demo's data, on the GPUs given, for `epochs` epochs."""
    return run('main.py', '-c', DEMO, '-g', *gpus, '-np', '-w', work_dir, *extra,
               *demo_settings(folder, f'scheduler_args.cosine.max_epoch={epochs}',
                              'scheduler_args.cosine.warm_up=0'), env=env)


def eval_samples(folder, phase='eval'):
    return np.load(folder / 'npy' / 'original' / 'ntu-xsub' / f'{phase}_data.npy',
                   mmap_mode='r').shape[0]


def demo_epochs(report, context):
    """One demo epoch in float32, O1 and O2 on -g 0: each log says gpu:0 and its precision, and
    every logged loss is finite. The float32 run's folder is kept for the later checks."""
    for precision, amp_args in PRECISIONS:
        work_dir = context.folder / precision.replace(' ', '_')
        result = demo_run(context.folder, work_dir, *amp_args)
        what = f'demo {DEMO}, one epoch on -g 0, {precision}'
        if not report.expect(result.returncode == 0, what, result.last_line):
            continue
        losses = [float(v) for v in LOSS.findall(result.stdout)]
        on_gpu = 'Devices gpu:0 ' in result.stdout and precision in result.stdout
        finite = bool(losses) and all(math.isfinite(v) for v in losses)
        report.expect(on_gpu and finite, f'{what}: the log says gpu:0 and {precision}; '
                      f'{len(losses)} losses, all finite',
                      f'it does not (see {work_dir}; losses {losses[:8]})')
        if precision == 'float32' and on_gpu:
            context.float32_run = next(work_dir.glob('*/*/'), None)


def scaler_trace(level, steps=6):
    """B0 of the demo config trained `steps` steps on GPU 0 with AMP `level` and a GradScaler
    that grows its scale every 2 clean steps: (losses, loss scales after each step)."""
    import paddle
    import paddle.nn.functional as F

    from initializer import build_model
    from utils.config import load_config
    paddle.set_device('gpu:0')
    paddle.seed(0)
    net, _, data_shape, num_class = build_model(load_config(DEMO))
    optimizer = paddle.optimizer.Momentum(0.01, parameters=net.parameters())
    if level == 'O2':
        net, optimizer = paddle.amp.decorate(models=net, optimizers=optimizer, level='O2',
                                             save_dtype='float32')
    scaler = paddle.amp.GradScaler(init_loss_scaling=2.0 ** 15, incr_every_n_steps=2)
    x = paddle.randn([8] + list(data_shape))
    y = paddle.randint(0, num_class, [8])
    losses, scales = [], []
    for _ in range(steps):
        with paddle.amp.auto_cast(level=level):
            loss = F.cross_entropy(net(x)[0].astype('float32'), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.clear_grad()
        losses.append(float(loss))
        scales.append(float(np.asarray(scaler.state_dict()['scale']).reshape(-1)[0]))
    return losses, scales


def loss_scaling(report, context):
    for level in ('O1', 'O2'):
        result = run('-m', 'tools.gpu_checks.training', 'loss_scaling', level)
        what = f'AMP {level}: finite losses and a loss scale that moves'
        if report.expect(result.returncode == 0, what, result.last_line):
            trace = json.loads(result.stdout.splitlines()[-1])
            finite = all(math.isfinite(v) for v in trace['losses'])
            report.expect(finite and len(set(trace['scales'])) > 1,
                          f'{what} (scales {trace["scales"]})', f'losses {trace["losses"]}')


def kill_and_resume(report, context):
    """Two epochs straight, and two epochs killed after the first checkpoint then resumed with
    -r, with cuDNN's deterministic algorithms: the same parameters at the end."""
    from model.checkpoint import load_checkpoint
    env = {**os.environ, 'FLAGS_cudnn_deterministic': '1'}
    straight, killed = context.folder / 'straight', context.folder / 'killed'
    result = demo_run(context.folder, straight, epochs=2, env=env)
    if not report.expect(result.returncode == 0, 'two demo epochs (for -r)', result.last_line):
        return
    checkpoint = killed / DEMO_FOLDER / 'checkpoint.pdparams'
    settings = demo_settings(context.folder, 'scheduler_args.cosine.max_epoch=2',
                             'scheduler_args.cosine.warm_up=0')
    kill_once_written(['main.py', '-c', DEMO, '-g', '0', '-np', '-w', killed, *settings],
                      checkpoint, env=env, timeout=1800)
    resumed = demo_run(context.folder, killed, '-r', epochs=2, env=env)
    what = 'a run killed after epoch 1 and resumed with -r'
    if not report.expect(resumed.returncode == 0 and 'Resumed from' in resumed.stdout
                         and 'Epoch: 1/2' not in resumed.stdout, what, resumed.last_line):
        return
    a, b = (load_checkpoint(d / DEMO_FOLDER / 'checkpoint.pdparams')['model']
            for d in (straight, killed))
    difference = max(float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) for k in a)
    report.expect(difference < 1e-4, f'{what} ends with the straight run\'s parameters (max '
                  f'difference {difference:.1e}{"; bit for bit" if difference == 0 else ""})')


def two_processes(report, context):
    """-g 0 1: two processes, a global batch of 16 split 8 + 8, the steps of an epoch of 16,
    every eval sample scored once, parameters and batch-norm statistics identical on both."""
    work_dir = context.folder / 'two_gpus'
    result = demo_run(context.folder, work_dir, '--set', 'dataset_args.ntu.train_batch_size=16',
                      gpus=('0', '1'))
    what = 'demo on two GPUs (-g 0 1)'
    if not report.expect(result.returncode == 0, what, result.last_line):
        return
    log = (work_dir / 'launch_logs' / 'workerlog.0').read_text()
    steps = eval_samples(context.folder, 'train') // 16
    results = json.loads(next(work_dir.glob('*/*/eval_results.json')).read_text())
    checks = {
        '8 per process': '2 process(es), train batch 8 per process = global batch 16' in log,
        f'{steps} steps': f'Batch: {steps}/{steps},' in log,
        'each eval sample once': results['num_samples'] == eval_samples(context.folder),
        'identical parameters and BN statistics':
            'Parameters are identical on all 2 processes' in log,
    }
    report.expect(all(checks.values()), f'{what}: {", ".join(checks)}',
                  'not ' + ', '.join(k for k, v in checks.items() if not v))


def evaluate_and_pictures(report, context):
    checkpoint = context.float32_run / 'best.pdparams'
    for flag, extra, outputs in (('-e', [], ['eval_results.json']),
                                 ('-v', ['-vs', '0'], ['confusion_matrix.png', 'cam_*.png'])):
        work_dir = context.folder / f'{flag[1:]}_on_gpu'
        result = run('main.py', '-c', DEMO, '-g', '0', '-np', '-w', work_dir, flag, '-pp',
                     checkpoint, *extra, *demo_settings(context.folder))
        what = f'{flag} on -g 0'
        if report.expect(result.returncode == 0, what, result.last_line):
            missing = [name for name in outputs if not any(work_dir.glob(f'*/*/{name}'))]
            on_gpu = 'Devices gpu:0 ' in result.stdout
            report.expect(on_gpu and not missing,
                          f'{what}: the log says gpu:0; wrote {", ".join(outputs)}',
                          f'{"" if on_gpu else "the log does not say gpu:0; "}'
                          f'{"no " + ", ".join(missing) if missing else ""}')


def peak_memory_of_step(batch=16, frames=288):
    """Peak GPU memory (MB) of one float32 B0 training step at `frames` frames, batch `batch`."""
    import paddle
    import paddle.nn.functional as F

    from initializer import build_model
    from utils.config import apply_overrides, load_config
    paddle.set_device('gpu:0')
    cfg = apply_overrides(load_config('2001'), [f'dataset_args.ntu.num_frame={frames}'])
    net, _, data_shape, num_class = build_model(cfg)
    optimizer = paddle.optimizer.Momentum(0.01, parameters=net.parameters())
    x = paddle.randn([batch] + list(data_shape))
    loss = F.cross_entropy(net(x)[0], paddle.randint(0, num_class, [batch]))
    loss.backward()
    optimizer.step()
    paddle.device.synchronize()
    return paddle.device.cuda.max_memory_allocated() / 2 ** 20


def peak_memory(report, context):
    result = run('-m', 'tools.gpu_checks.training', 'peak_memory')
    what = 'one B0 training step at 288 frames, batch 16, float32'
    if result.returncode == 0:
        report.ok(f'{what}: peak GPU memory {float(result.stdout.split()[-1]):.0f} MB '
                  f'(paddle.device.cuda.max_memory_allocated)')
    else:
        report.fail(f'{what}: {result.last_line}')


if __name__ == '__main__':
    if sys.argv[1] == 'loss_scaling':
        losses, scales = scaler_trace(sys.argv[2])
        print(json.dumps({'losses': losses, 'scales': scales}))
    else:
        print(peak_memory_of_step())
