"""How many processes a run takes and on what, decided before any starts: one a listed GPU
(`-g`), or N CPU processes (`--nproc N` with no GPU listed, or where no GPU can be used), and the
launcher that starts them. Paddle's launcher hands every process it starts a GPU whenever its
build has CUDA and sees one (paddle/distributed/launch/context/device.py), so CPU processes go
through utils/cpu_launch.py, which starts them on the CPU with gloo."""
import os
import sys
from pathlib import Path

from utils.errors import UserError

CPU_LAUNCHER = Path(__file__).resolve().with_name('cpu_launch.py')


def gpus_present():
    """(whether this Paddle build has CUDA, how many GPUs it sees); imports paddle."""
    import paddle
    if not paddle.device.is_compiled_with_cuda():
        return False, 0
    return True, paddle.device.cuda.device_count()


def check_gpu_ids(gpus, present=None):
    """-g ids must name GPUs this process sees (ids count the GPUs CUDA_VISIBLE_DEVICES lists,
    when set). Without a usable GPU nothing is checked: the run falls back to the CPU with a
    warning (runtime.select_device)."""
    cuda_build, count = present or gpus_present()
    if not gpus or not cuda_build or count == 0:
        return
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    shown = f' (CUDA_VISIBLE_DEVICES={visible}: ids count the GPUs it lists)' \
        if visible is not None else ''
    for gpu in gpus:
        if not 0 <= gpu < count:
            raise UserError(f'-g {" ".join(map(str, gpus))}: there is no GPU {gpu}, this machine '
                            f'shows {count} GPU{"s" if count > 1 else ""}, ids 0-{count - 1}'
                            f'{shown}')
    if len(set(gpus)) < len(gpus):
        raise UserError(f'-g {" ".join(map(str, gpus))} lists a GPU twice: one process a GPU')


def process_plan(nproc, gpus, present=None):
    """(process count, the GPUs they take, one each; [] for CPU processes). --nproc alone is that
    many processes; without it, one a listed GPU. More processes than listed GPUs is an error."""
    cuda_build, count = present or gpus_present()
    on_gpus = bool(gpus) and cuda_build and count > 0
    if nproc is not None and nproc < 1:
        raise UserError(f'--nproc {nproc}: give 1 or more processes')
    processes = nproc if nproc is not None else (len(gpus) if on_gpus else 1)
    if on_gpus and processes > len(gpus):
        raise UserError(
            f'--nproc {processes} with {len(gpus)} GPU{"s" if len(gpus) > 1 else ""} listed '
            f'(-g {" ".join(map(str, gpus))}): one process a GPU; list {processes} GPUs with -g, '
            f'or give -g with no ids for {processes} CPU processes')
    return processes, list(gpus[:processes]) if on_gpus else []


def launcher_command(processes, gpus, log_dir):
    """Paddle's launcher for `processes` processes on `gpus`, or on the CPU when gpus is empty."""
    common = ['--nproc_per_node', str(processes), '--log_dir', str(log_dir)]
    if not gpus:
        return [sys.executable, str(CPU_LAUNCHER), *common]
    return [sys.executable, '-m', 'paddle.distributed.launch', *common,
            '--devices', ','.join(launcher_labels(gpus))]


def launcher_labels(gpus):
    """-g ids (counted within CUDA_VISIBLE_DEVICES) as Paddle's launcher names GPUs: by the
    labels CUDA_VISIBLE_DEVICES lists, each process then taking its index among them
    (paddle/distributed/launch/context/device.py, get_selected_devices)."""
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if not visible or visible == 'all':
        return [str(gpu) for gpu in gpus]
    labels = [label.strip() for label in visible.split(',')]
    return [labels[gpu] for gpu in gpus]
