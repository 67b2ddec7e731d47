"""Config loading and overrides, logging, devices, atomic saving, building the C helpers:
shared by every mode."""
import contextlib
import ctypes
import hashlib
import io
import json
import logging
import os
import pickle
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parent
CONFIG_DIR = REPO_DIR / 'configs'

# The keys a config file may hold (`config` is the name it was loaded under).
_TOP_LEVEL_KEYS = {
    'gpus', 'seed', 'debug', 'pretrained_path', 'work_dir', 'no_progress_bar',
    'visualization_class', 'visualization_sample', 'visualization_frames',
    'dataset', 'dataset_args', 'model_type', 'model_args', 'optimizer', 'optimizer_args',
    'lr_scheduler', 'scheduler_args', 'amp_level', 'config',
}


class UserError(Exception):
    """A problem the user can fix (config, paths, files): main prints it as one line."""


class ConfigError(UserError):
    pass


def config_path(config):
    """`-c 2001` -> configs/2001.yaml; `-c path/to/file.yaml` -> that file."""
    path = Path(config)
    if path.suffix in ('.yaml', '.yml'):
        if not path.is_file():
            raise ConfigError(f'config file {config} does not exist')
        return path
    path = CONFIG_DIR / f'{config}.yaml'
    if not path.is_file():
        known = ', '.join(sorted(p.stem for p in CONFIG_DIR.glob('*.yaml')))
        raise ConfigError(f'no config with ID {config!r} in {CONFIG_DIR} (known IDs: {known})')
    return path


def load_config(config):
    path = config_path(config)
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f'config {path} is not valid YAML: {str(e).splitlines()[0]}') from None
    if not isinstance(cfg, dict):
        raise ConfigError(f'config {path} must be a mapping of keys to values')
    unknown = sorted(set(cfg) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f'unknown key {unknown[0]!r} in config {path}')
    cfg['config'] = path.stem
    return cfg


def _same_kind(old, new):
    """A value may replace another of the same type (int for float allowed; None is untyped)."""
    if old is None or new is None:
        return True
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return not (isinstance(old, int) and isinstance(new, float))
    return type(old) is type(new)


def set_value(cfg, dotted_key, value):
    """Set `a.b.c` in the nested config; the key must exist and keep its type."""
    keys = dotted_key.split('.')
    node = cfg
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = '.'.join(keys[:depth]) or 'the top level'
            raise ConfigError(f'unknown config key {dotted_key!r} (no {key!r} under {where})')
        if depth < len(keys) - 1:
            node = node[key]
    old = node[keys[-1]]
    if not _same_kind(old, value):
        raise ConfigError(f'config key {dotted_key!r} takes a {type(old).__name__}, '
                          f'got {value!r} ({type(value).__name__})')
    node[keys[-1]] = value


def apply_overrides(cfg, assignments):
    """`--set key.sub=value` entries; values are parsed as YAML (`[0,1]`, `True`, `0.01`)."""
    for assignment in assignments or []:
        key, sep, text = assignment.partition('=')
        if not sep or not key:
            raise ConfigError(f'--set {assignment!r} must look like key.sub=value')
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f'--set {assignment!r}: the value is not valid YAML') from None
        set_value(cfg, key.strip(), value)
    return cfg


def setup_logging(log_file=None, rank=0):
    """Console (and optional file) logging; ranks other than 0 only log warnings."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    formatter = logging.Formatter('[%(asctime)s] %(message)s', '%Y-%m-%d %H:%M:%S')
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(formatter)
    root.addHandler(console)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)


def set_cpu_threads():
    """Paddle's CPU kernels use one thread unless told: share the cores among the processes
    launched on this machine, unless the user chose a number."""
    processes = int(os.environ.get('PADDLE_LOCAL_SIZE', '1'))
    threads = max(1, (os.cpu_count() or 1) // max(processes, 1))
    os.environ.setdefault('OMP_NUM_THREADS', str(threads))


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


def import_paddle(openmp_spin=False):
    """Import paddle with every core for its CPU kernels and a reusing allocator, without its
    import-time notices (it warns on stderr whenever OMP_NUM_THREADS > 1, set on purpose).

    Intel OpenMP's workers spin for 200 ms after each parallel region. The model's C kernels
    (model/kernels.c) start threads of their own between Paddle's regions, and spinning workers
    would take their cores: without the spin a training step is 10-15% faster. Paddle Inference
    runs every op in OpenMP and is a few percent faster with it (openmp_spin=True). A
    KMP_BLOCKTIME the user set wins."""
    set_cpu_threads()
    if not openmp_spin:
        os.environ.setdefault('KMP_BLOCKTIME', '0')
    keep_freed_memory()
    with contextlib.redirect_stderr(io.StringIO()):
        import paddle
    return paddle


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
    import paddle
    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def atomic_save(obj, path, saver):
    """Write through a temporary file then rename, so a crash never leaves a half file."""
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    saver(obj, str(tmp))
    os.replace(tmp, path)


def save_json(obj, path):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def save_pickle(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


# ---------------------------------------------------------------- compiled helpers
def cache_folder():
    """Where built libraries live: $EFFICIENTGCN_CACHE, else the user's cache folder."""
    if os.environ.get('EFFICIENTGCN_CACHE'):
        return Path(os.environ['EFFICIENTGCN_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base) / 'efficientgcn'


def optional_c_library(source, flags=(), missing=''):
    """load_c_library, or None when EFFICIENTGCN_NO_C is set or the library cannot be built
    here; then `missing` (what runs instead) is logged once, at info level."""
    if os.environ.get('EFFICIENTGCN_NO_C'):
        return None
    try:
        return load_c_library(source, flags)
    except (OSError, subprocess.SubprocessError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        logging.getLogger(__name__).info('cannot build %s (%s): %s', Path(source).name, reason,
                                         missing)
        return None


def load_c_library(source, flags=()):
    """ctypes handle of a C file built with the system compiler, once per machine; a cached
    file that will not load (e.g. cut short) is built again. Raises OSError or
    subprocess.SubprocessError when it cannot be built."""
    path = _built_library(Path(source), tuple(flags))
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return ctypes.CDLL(str(_built_library(Path(source), tuple(flags))))


def _built_library(source, flags):
    """The shared library for this source, flags, machine and Python; built when absent."""
    text = source.read_bytes()
    tag = hashlib.sha256(text + ' '.join(flags).encode() + platform.machine().encode()
                         + sys.version.encode())
    target = cache_folder() / f'{source.stem}-{tag.hexdigest()[:16]}.so'
    if target.is_file():
        return target
    compiler = (sysconfig.get_config_var('CC') or 'cc').split()[0]
    if not shutil.which(compiler):
        compiler = shutil.which('cc') or shutil.which('gcc')
        if compiler is None:
            raise OSError('no C compiler found')
    target.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger(__name__).info('building %s once for this machine (a few seconds; cached '
                                     'in %s)', source.name, target.parent)
    # Build under a temporary name, then rename: a process that loads it never sees half a file.
    handle, partial = tempfile.mkstemp(suffix='.so', dir=target.parent)
    os.close(handle)
    try:
        subprocess.run([compiler, '-O2', *flags, '-shared', '-fPIC', '-o', partial, str(source)],
                       check=True, capture_output=True, timeout=120)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
