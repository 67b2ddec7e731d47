"""python utils/cpu_launch.py LAUNCHER_ARGUMENTS...: paddle.distributed.launch with every process
on the CPU, whatever the Paddle build.

Paddle's launcher has no switch for that: it reads CUDA_VISIBLE_DEVICES, or counts the GPUs of a
CUDA build, and gives each process one (FLAGS_selected_gpus), an IndexError inside it when there
are fewer GPUs than processes; its processes then take NCCL and a GPU in init_parallel_env
unless PADDLE_DISTRI_BACKEND says gloo. Here its device detection answers "CPU", the processes
see no GPU (CUDA_VISIBLE_DEVICES empty, which Paddle counts as none) and communicate with gloo.
"""
import os
import runpy
import sys
from pathlib import Path


def configure():
    """Set this process up so that the launcher started in it starts CPU processes."""
    from paddle.distributed.launch.context.device import Device, DeviceType
    os.environ['CUDA_VISIBLE_DEVICES'] = ''
    os.environ['PADDLE_DISTRI_BACKEND'] = 'gloo'
    Device.parse_device = classmethod(lambda cls: Device(DeviceType.CPU))


if __name__ == '__main__':
    # run as a script, this folder heads sys.path: its modules must not stand in for others
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    configure()
    runpy.run_module('paddle.distributed.launch', run_name='__main__', alter_sys=True)
