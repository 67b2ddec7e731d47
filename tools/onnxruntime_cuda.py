"""Which CUDA each onnxruntime-gpu release's CUDA provider links, as requirements-gpu.txt's pin
was chosen: the wheel for this Python from PyPI, its onnxruntime/capi/
libonnxruntime_providers_cuda.so read with `readelf -d` (binutils), one line a version:

    python tools/onnxruntime_cuda.py 1.26.0 1.27.0
    onnxruntime-gpu 1.26.0: libcublas.so.12 libcublasLt.so.12 libcudart.so.12 libcudnn.so.9

Downloads each wheel (about 270 MB) into a temporary folder, deleted after."""
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PROVIDER = 'onnxruntime/capi/libonnxruntime_providers_cuda.so'


def cuda_libraries(version, folder):
    """The CUDA and cuDNN libraries the provider of onnxruntime-gpu==version needs."""
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                    f'onnxruntime-gpu=={version}', '-d', str(folder)], check=True)
    [wheel] = Path(folder).glob(f'onnxruntime_gpu-{version}-*.whl')
    with zipfile.ZipFile(wheel) as archive:
        provider = Path(archive.extract(PROVIDER, folder))
    dynamic = subprocess.run(['readelf', '-d', str(provider)], capture_output=True, text=True,
                             check=True).stdout
    needed = re.findall(r'\(NEEDED\)\s+Shared library: \[(lib[a-zA-Z]+\.so\.\d+)\]', dynamic)
    return sorted(name for name in needed if name.startswith(('libcu', 'libcudnn')))


def main(versions):
    for version in versions:
        with tempfile.TemporaryDirectory() as folder:
            print(f'onnxruntime-gpu {version}: {" ".join(cuda_libraries(version, folder))}',
                  flush=True)


if __name__ == '__main__':
    main(sys.argv[1:] or ['1.26.0', '1.27.0'])
