"""The published X-sub checkpoint's logits on real NTU .skeleton files, on the GPU (float32
and TF32) against the CPU, each computed in a process of its own so that its TF32 setting holds
from the start:

    python -m tools.gpu_checks.published CHECKPOINT SKELETONS DEVICE TF32(0/1) OUT.npz
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import precision, run


def published_logits(checkpoint, skeletons, device, tf32=True):
    """sample file name -> logits of the checkpoint, evaluated as the engine evaluates (the
    folded model; the CPU backend on the CPU) on device, with TF32 allowed or not."""
    import paddle

    import model
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model import cpu_backend
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from reader import load_sample
    from utils.config import load_config
    paddle.set_device(device)
    precision.set_tf32(tf32)
    net, graph, data_shape, _ = build_model(load_config('2001'))
    load_model_state(net, model_state_of(load_checkpoint(checkpoint)), checkpoint)
    folded = model.reparameterize(net)
    if device == 'cpu':
        cpu_backend.install(folded)
    files = sorted(Path(skeletons).glob('*.skeleton'))
    logits = {}
    with paddle.no_grad():
        for start in range(0, len(files), 4):
            chunk = files[start:start + 4]
            batch = np.stack([build_inputs(load_sample(str(f))[0][:, :data_shape[2]], 'JVB',
                                           graph.connect_joint) for f in chunk])
            rows = folded(paddle.to_tensor(batch))[0].numpy()
            logits.update({f.name: row for f, row in zip(chunk, rows)})
    return logits


def logits_in_child(checkpoint, skeletons, device, tf32, folder):
    """published_logits in a new process (TF32 set by its environment too); (logits, None) or
    (None, the line that says why not)."""
    out = Path(folder) / f'published_{device.replace(":", "")}_{int(tf32)}.npz'
    result = run('-m', 'tools.gpu_checks.published', checkpoint, skeletons, device,
                 int(tf32), out, env=precision.environment(tf32))
    if result.returncode != 0:
        return None, result.last_line
    return dict(np.load(out)), None


def compare_published(report, checkpoint, skeletons):
    if not (Path(checkpoint).is_file() and any(Path(skeletons).glob('*.skeleton'))):
        report.skip(f'the published X-sub checkpoint on real files: give --checkpoint '
                    f'(xsub.pdparams) and --skeletons (a folder of NTU .skeleton files); '
                    f'{checkpoint} or {skeletons} is absent')
        return
    with tempfile.TemporaryDirectory() as folder:
        cpu, why = logits_in_child(checkpoint, skeletons, 'cpu', False, folder)
        if not report.expect(cpu is not None, 'the published X-sub checkpoint on the CPU', why):
            return
        for tf32 in (False, True):
            gpu, why = logits_in_child(checkpoint, skeletons, 'gpu:0', tf32, folder)
            what = (f'the published X-sub checkpoint on {len(cpu)} real files: GPU logits = CPU '
                    f'logits')
            if report.expect(gpu is not None, what, why):
                passed, words = precision.judge(gpu, cpu, tf32)
                report.expect(passed, f'{what} ({words})')


if __name__ == '__main__':
    checkpoint, skeletons, device, tf32, out = sys.argv[1:]
    np.savez(out, **published_logits(checkpoint, skeletons, device, tf32 == '1'))
