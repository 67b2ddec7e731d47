"""Process settings for speed on the CPU, and the device probe.

`tune_process()` is what main.py and infer.py do first; call it at the top of a script of your
own, before paddle is imported, and the library runs there as fast as from the command line:

    from utils import runtime
    runtime.tune_process()          # may restart the script once (huge pages)
    import paddle
"""
import contextlib
import ctypes
import io
import os
import platform
import sys


def tune_process(openmp_spin=False):
    """Every setting main.py makes for speed, in order: restart the script at once with glibc's
    huge-page tunable (restart_with_huge_pages), give Paddle's CPU kernels every core
    (set_cpu_threads), stop Intel OpenMP's workers spinning between regions unless openmp_spin
    (the C kernels need those cores; Paddle Inference, all OpenMP, is faster with the spin), and
    keep freed memory in the heap (keep_freed_memory). Settings the user made win. Call it before
    paddle is imported: paddle reads them once, when it loads."""
    restart_with_huge_pages()
    set_cpu_threads()
    if not openmp_spin:
        os.environ.setdefault('KMP_BLOCKTIME', '0')
    keep_freed_memory()


def import_paddle():
    """import paddle without its import-time notices (it warns on stderr whenever
    OMP_NUM_THREADS > 1, which tune_process sets on purpose)."""
    with contextlib.redirect_stderr(io.StringIO()):
        import paddle
    return paddle


# Settings this process chose itself (not the user): processes it starts choose their own.
_CHOSEN_HERE = set()


def set_cpu_threads():
    """Paddle's CPU kernels use one thread unless told: share the cores among the processes
    launched on this machine, unless the user chose a number."""
    processes = int(os.environ.get('PADDLE_LOCAL_SIZE', '1'))
    threads = max(1, (os.cpu_count() or 1) // max(processes, 1))
    if 'OMP_NUM_THREADS' not in os.environ:
        os.environ['OMP_NUM_THREADS'] = str(threads)
        _CHOSEN_HERE.add('OMP_NUM_THREADS')


def environment_for_children():
    """os.environ without the thread count this process chose for itself, so that processes it
    launches share the cores among themselves (set_cpu_threads) instead of each taking all."""
    return {k: v for k, v in os.environ.items() if k not in _CHOSEN_HERE}


def keep_freed_memory():
    """glibc hands blocks over 128 KiB back to the kernel on free, so every large activation of
    a CPU forward pass is page-faulted in again (10x more minor faults, about half the time of
    a B0 pass). Serve them from the heap and keep freed memory for reuse. Linux/glibc only."""
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return
    m_trim_threshold, m_mmap_max = -1, -4
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 1 << 30)


def restart_with_huge_pages():
    """Run this script again, at once, with glibc's malloc asking for transparent huge pages
    (GLIBC_TUNABLES, which glibc reads only when a process starts). Every activation of the CPU
    model is tens of MB: with huge pages a dygraph eval pass was 8-10% faster here, a Paddle
    Inference batch 4-7%. Training steps run as fast as without; the first one pays a few
    seconds once to fault the pages in.
    Linux with glibc 2.35 or newer; a GLIBC_TUNABLES of your own or EFFICIENTGCN_NO_HUGE_PAGES=1
    leaves the process as it is."""
    if 'GLIBC_TUNABLES' in os.environ or os.environ.get('EFFICIENTGCN_NO_HUGE_PAGES') \
            or not glibc_reads_huge_page_tunable():
        return
    os.environ['GLIBC_TUNABLES'] = 'glibc.malloc.hugetlb=1'
    command = getattr(sys, 'orig_argv', None) or [sys.executable, *sys.argv]
    try:
        os.execv(sys.executable, [sys.executable, *command[1:]])
    except OSError:   # cannot restart: run on as we are
        del os.environ['GLIBC_TUNABLES']


def glibc_reads_huge_page_tunable():
    """Linux with glibc 2.35 or newer, the first to read glibc.malloc.hugetlb."""
    if sys.platform != 'linux':
        return False
    name, version = platform.libc_ver()
    try:
        return name == 'glibc' and tuple(int(v) for v in version.split('.')[:2]) >= (2, 35)
    except ValueError:
        return False


def gpu_available():
    """Whether this Paddle build has CUDA and sees a device (imports paddle)."""
    return gpu_missing_reason() is None


def gpu_missing_reason():
    """Why no GPU can be used here, in words, or None when one can (imports paddle)."""
    import paddle
    if not paddle.device.is_compiled_with_cuda():
        return 'this Paddle build has no CUDA (install paddlepaddle-gpu: docs/gpu.md)'
    if paddle.device.cuda.device_count() == 0:
        return 'this Paddle build has CUDA but sees no GPU (check the driver and CUDA_VISIBLE_DEVICES)'
    return None


def amp_in_effect(level, device):
    """(the AMP level training really runs at on `device`, None for float32; what it computes
    in, for the log). The config's O1 or O2 runs on a GPU of compute capability 7.0 or newer;
    below that Paddle's auto_cast and decorate fall back to float32 with a warning
    (paddle/amp/auto_cast.py), and the CPU trains in float32."""
    if not level:
        return None, 'float32'
    if not device.startswith('gpu'):
        return None, f'float32 (amp_level {level}, --amp, is used on GPU only)'
    import paddle
    major, minor = paddle.device.cuda.get_device_capability(int(device.split(':')[1]))
    if major < 7:
        return None, (f'float32 (amp_level {level} asked for, but {device} has compute '
                      f'capability {major}.{minor}, and float16 AMP needs 7.0 or newer)')
    return level, f'mixed precision {level}'


def select_device(gpus, distributed=False):
    """GPU when asked for and available (under the launcher: this process's GPU); otherwise the
    CPU. Returns (device, warning): why GPUs that were asked for are not used, else None."""
    import paddle
    missing = gpu_missing_reason() if gpus else None
    if gpus and missing is None:
        device_id = paddle.distributed.ParallelEnv().device_id if distributed else gpus[0]
        device, warning = f'gpu:{device_id}', None
    else:
        device = 'cpu'
        warning = (f'GPUs {gpus} were asked for (-g, gpus), but {missing}: running on the CPU'
                   if gpus else None)
    paddle.set_device(device)
    return device, warning
