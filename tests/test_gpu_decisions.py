"""The decisions the GPU paths take, driven here through their inputs: a CUDA build and its device
count, CUDA_VISIBLE_DEVICES, /dev/shm's free bytes, a GPU's compute capability, and the execution
provider ONNX Runtime really starts. What only a GPU can confirm is checked by tools/check_gpu.py."""
import argparse
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

import initializer
import main
from helpers import demo_args, run_python, tiny_config
from utils.config import load_config
from utils.runtime import select_device


@pytest.fixture
def fake_gpus(monkeypatch):
    """fake_gpus(n): this Paddle is a CUDA build that sees n GPUs (its probes answer so)."""
    def install(count, capability=(8, 0)):
        monkeypatch.setattr(paddle.device, 'is_compiled_with_cuda', lambda: True)
        monkeypatch.setattr(paddle.device.cuda, 'device_count', lambda: count)
        monkeypatch.setattr(paddle.device.cuda, 'get_device_capability',
                            lambda device=None: capability)
    return install


# ---------------------------------------------------------------- processes and GPUs (main.py)
@pytest.fixture
def launches(monkeypatch):
    """The commands main.py would start (subprocess.run recorded, nothing started)."""
    calls = []

    def record(command, env=None, **kwargs):
        calls.append(SimpleNamespace(command=command, env=env))
        return subprocess.CompletedProcess(command, 0)
    monkeypatch.setattr(subprocess, 'run', record)
    return calls


def run_demo(data, tmp_path, capsys, *extra):
    """main.main on the demo (gpus: [] in its config) with the flags given: (exit code, the
    `error:` lines)."""
    code = main.main([*demo_args(data, tmp_path / 'work', 'scheduler_args.cosine.max_epoch=1'),
                      *extra])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith('error:')]
    return code, errors


def test_cpu_processes_on_a_cuda_build_use_gloo_and_no_gpu(tmp_path, small_demo_data, capsys,
                                                          fake_gpus, launches):
    """--nproc 2 with no GPU listed, on a CUDA build with one GPU: Paddle's launcher would hand
    the processes that GPU (and fail with an IndexError inside itself); they start on the CPU
    launcher (utils/cpu_launch.py: gloo, CUDA_VISIBLE_DEVICES empty)."""
    fake_gpus(1)
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '--nproc', '2')
    assert code == 0 and not errors
    [launch] = launches
    assert launch.command[1].endswith(os.path.join('utils', 'cpu_launch.py')), launch.command
    assert '--devices' not in launch.command
    assert launch.command[2:4] == ['--nproc_per_node', '2']


def test_cpu_launcher_detects_the_cpu_and_hides_the_gpus(monkeypatch, fake_gpus):
    from paddle.distributed.launch.context.device import Device, DeviceType
    from utils import cpu_launch
    fake_gpus(2)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    assert Device.parse_device().dtype == DeviceType.GPU   # what Paddle's launcher sees
    # what configure changes is undone after the test
    monkeypatch.setattr(Device, 'parse_device', Device.parse_device)
    monkeypatch.setenv('PADDLE_DISTRI_BACKEND', 'auto')
    cpu_launch.configure()
    device = Device.parse_device()
    assert device.dtype == DeviceType.CPU and device.get_selected_devices() == []
    assert os.environ['CUDA_VISIBLE_DEVICES'] == '' and os.environ['PADDLE_DISTRI_BACKEND'] == 'gloo'


def test_more_processes_than_gpus_is_one_line(tmp_path, small_demo_data, capsys, fake_gpus,
                                              launches):
    fake_gpus(1)
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '-g', '0', '--nproc', '2')
    assert code == 1 and not launches
    assert len(errors) == 1 and '--nproc 2' in errors[0] and '1 GPU' in errors[0], errors


def test_gpu_ids_are_checked_against_the_gpus_present(tmp_path, small_demo_data, capsys,
                                                      fake_gpus, launches, monkeypatch):
    fake_gpus(2)
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES')
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '-g', '0', '3')
    assert code == 1 and not launches
    assert len(errors) == 1 and 'GPU 3' in errors[0] and '2 GPUs' in errors[0], errors
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '4,5')
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '-g', '2')
    assert code == 1 and len(errors) == 1 and 'CUDA_VISIBLE_DEVICES=4,5' in errors[0], errors
    assert not launches


def test_one_process_per_listed_gpu_on_the_gpu_launcher(tmp_path, small_demo_data, capsys,
                                                        fake_gpus, launches):
    fake_gpus(4)
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '-g', '1', '2')
    assert code == 0 and not errors
    [launch] = launches
    assert launch.command[1:3] == ['-m', 'paddle.distributed.launch']
    assert launch.command[launch.command.index('--devices') + 1] == '1,2'


def test_gpu_ids_within_cuda_visible_devices_reach_the_launcher_as_its_labels(
        tmp_path, small_demo_data, capsys, fake_gpus, launches, monkeypatch):
    """-g ids count the GPUs CUDA_VISIBLE_DEVICES lists, as Paddle in a process counts them;
    Paddle's launcher takes --devices as the labels CUDA_VISIBLE_DEVICES lists and hands each
    process its index among them (its own Device code decides here)."""
    from paddle.distributed.launch.context.device import Device
    fake_gpus(2)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '2,3')
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '-g', '0', '1')
    assert code == 0 and not errors
    [launch] = launches
    devices = launch.command[launch.command.index('--devices') + 1]
    assert devices == '2,3'
    assert Device.parse_device().get_selected_devices(devices) == ['0', '1']


def test_a_launcher_that_fails_before_its_workers_names_no_missing_log(tmp_path, small_demo_data,
                                                                      capsys, monkeypatch):
    monkeypatch.setattr(subprocess, 'run',
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 1))
    code, errors = run_demo(small_demo_data, tmp_path, capsys, '--nproc', '2')
    assert code == 1 and len(errors) == 1 and 'workerlog' not in errors[0], errors


# ---------------------------------------------------------------- the suite on a GPU machine
def test_the_suite_runs_on_the_cpu_on_a_cuda_build(fake_gpus, monkeypatch):
    """conftest.py hides the GPUs from every process a test starts (CUDA_VISIBLE_DEVICES empty,
    which Paddle reads as no GPU) and sets this one's device to the CPU."""
    assert os.environ.get('CUDA_VISIBLE_DEVICES') == ''
    child = run_python('-c', 'import os; print(repr(os.environ.get("CUDA_VISIBLE_DEVICES")))')
    assert child.stdout.strip() == "''"
    assert paddle.get_device() == 'cpu'
    # a CUDA build counts no GPU under an empty CUDA_VISIBLE_DEVICES (GetCUDADeviceCount)
    fake_gpus(0 if os.environ.get('CUDA_VISIBLE_DEVICES') == '' else 1)
    assert select_device([0])[0] == 'cpu'


# ---------------------------------------------------------------- /dev/shm for the loader
class Samples(paddle.io.Dataset):
    def __init__(self, shape, count=64):
        self.shape, self.count = shape, count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return np.zeros(self.shape, np.float32), 0, f'sample{index}'


def loader_at_288_frames(free_bytes, monkeypatch, caplog):
    """Config 2001's train loader (batch 16 of 3x6x288x25x2) on a GPU with /dev/shm having
    `free_bytes` free."""
    from utils import shared_memory
    real = os.statvfs
    monkeypatch.setattr(os, 'statvfs', lambda path: SimpleNamespace(
        f_bavail=free_bytes // 4096, f_frsize=4096) if path == '/dev/shm' else real(path))
    shared_memory.NOTICES_GIVEN.clear()
    caplog.clear()
    cfg = load_config('2001')
    with caplog.at_level('INFO'):
        loaders = [initializer.build_loader(cfg, Samples([3, 6, 288, 25, 2]), phase, on_gpu=True)
                   for phase in ('train', 'eval')]
    return loaders[0], [r.getMessage() for r in caplog.records if '/dev/shm' in r.getMessage()]


def test_a_small_dev_shm_turns_shared_memory_off_with_one_notice(monkeypatch, caplog):
    """4 workers x 2 batches in flight x 16 samples of 0.99 MiB = 127 MiB (133 MB): Docker's
    default 64 MiB is too small; 1 GiB is enough."""
    loader, notices = loader_at_288_frames(64 << 20, monkeypatch, caplog)
    assert loader.num_workers == 4 and loader.use_shared_memory is False
    assert len(notices) == 1 and '--shm-size' in notices[0] and '127 MiB' in notices[0], notices
    loader, notices = loader_at_288_frames(1 << 30, monkeypatch, caplog)
    assert loader.use_shared_memory is True and not notices


# ---------------------------------------------------------------- AMP on an older GPU
def test_amp_on_a_gpu_below_compute_capability_7_logs_float32(tmp_path, fake_gpus):
    from processor import Processor
    from utils import training
    fake_gpus(1, capability=(6, 1))
    cfg = tiny_config(load_config('2001'), tmp_path, tmp_path / 'work')
    cfg['amp_level'] = 'O1'
    processor = Processor(cfg, main.build_parser().parse_args(['-c', '2001']))
    processor.device = 'gpu:0'   # as select_device would choose there
    assert training.amp_level(cfg, processor.device) is None
    precision = training.precision(cfg, processor.device)
    assert precision.startswith('float32') and '6.1' in precision and 'O1' in precision
    fake_gpus(1, capability=(7, 0))
    assert training.amp_level(cfg, processor.device) == 'O1'
    assert training.precision(cfg, processor.device) == 'mixed precision O1'


# ---------------------------------------------------------------- ONNX Runtime's provider
def fake_onnxruntime(started):
    """An onnxruntime whose CUDA provider is compiled in but whose session starts `started`."""
    preloaded = []

    class Session:
        def __init__(self, path, options, providers):
            self.providers = providers

        def get_inputs(self):
            return [SimpleNamespace(name='data')]

        def get_providers(self):
            return [started, 'CPUExecutionProvider'] if started != 'CPUExecutionProvider' \
                else [started]
    module = SimpleNamespace(
        set_default_logger_severity=lambda level: None, SessionOptions=SimpleNamespace,
        get_available_providers=lambda: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
        InferenceSession=Session, preload_dlls=lambda **kwargs: preloaded.append(kwargs))
    return module, preloaded


@pytest.mark.parametrize('started', ['CPUExecutionProvider', 'CUDAExecutionProvider'])
def test_onnx_runtime_reports_the_provider_its_session_uses(monkeypatch, capsys, started):
    from deploy.runtimes.onnx_runtime import OnnxRunner
    module, preloaded = fake_onnxruntime(started)
    monkeypatch.setitem(sys.modules, 'onnxruntime', module)
    args = argparse.Namespace(use_gpu=True, use_tensorrt=False, batch_size=8)
    runner = OnnxRunner(args, 'model.onnx', 2)
    assert len(preloaded) == 1   # the pip-installed CUDA libraries, found before the session
    assert runner.describe().startswith(f'ONNX Runtime, {started}')
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith('notice:')]
    if started == 'CUDAExecutionProvider':
        assert not notices
    else:
        assert len(notices) == 1 and 'CUDAExecutionProvider' in notices[0] \
            and 'CPUExecutionProvider' in notices[0], notices


def test_requirements_gpu_pins_onnx_runtime_builds_for_cuda_12():
    """The CUDA major version of each onnxruntime-gpu release's CUDA provider, as `readelf -d`
    shows its onnxruntime/capi/libonnxruntime_providers_cuda.so (libcudart.so.N; the cp311
    manylinux wheels from PyPI, read by tools/onnxruntime_cuda.py for this pin)."""
    from packaging.requirements import Requirement
    from utils.config import REPO_DIR
    linked = {'1.21.0': 12, '1.25.1': 12, '1.26.0': 12, '1.27.0': 13, '1.31.1': 13}
    lines = [line for line in (REPO_DIR / 'requirements-gpu.txt').read_text().splitlines()
             if line.startswith('onnxruntime')]
    [requirement] = [Requirement(line) for line in lines]
    allowed = {version for version in linked if requirement.specifier.contains(version)}
    assert allowed and {linked[version] for version in allowed} == {12}, requirement
    assert '1.26.0' in allowed   # the last CUDA 12 release
