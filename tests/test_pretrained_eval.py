"""-e with the published checkpoints on the real NTU files, generated with 2001 / 2002 settings."""
import json
import pickle

import numpy as np
import pytest

import generator
from commands import run_main
from utils import load_config

# (config, checkpoint, eval samples in that benchmark's split, expected top-1 correct)
CASES = [('2001', 'xsub', 7, 6), ('2002', 'xview', 5, 5)]


@pytest.mark.parametrize('config_id,checkpoint,num_eval,num_correct', CASES)
def test_evaluate_published_checkpoint(tmp_path, real_skeleton_dir, pretrained_dir, config_id,
                                       checkpoint, num_eval, num_correct):
    cfg = load_config(config_id)
    cfg['dataset_args']['ntu'].update(root_folder=str(tmp_path / 'npy'),
                                      ntu60_path=str(real_skeleton_dir))
    generator.generate(cfg, progress=False)
    work_dir = tmp_path / 'work'
    result = run_main('-c', config_id, '-e', '-np', '-g',
                      '-pp', pretrained_dir / f'{checkpoint}.pdparams', '-w', work_dir,
                      '--set', f'dataset_args.ntu.root_folder={tmp_path / "npy"}')
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Top-1 accuracy: {num_correct}/{num_eval}(' in result.stdout
    run_dir = next(work_dir.glob('*/*/'))
    results = json.loads((run_dir / 'eval_results.json').read_text())
    assert results['num_samples'] == num_eval and results['top1_count'] == num_correct
    scores = pickle.load(open(run_dir / 'eval_scores.pkl', 'rb'))
    assert len(scores) == num_eval
    for name, logits in scores.items():
        assert logits.dtype == np.float32 and logits.shape == (60,)
        assert name.startswith('S0') and '.' not in name


def test_fast_model_gives_the_plain_forms_logits(real_skeleton_dir, pretrained_dir, monkeypatch):
    """The published X-sub checkpoint on real files: the model as it runs (fast forms, folded
    batch norms), as a GPU runs it (no C kernels, no CPU PyLayers) and in the seed's plain
    forms agree within 1e-4."""
    import paddle

    import reference_forms
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model import fast_ops, native
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from reader import load_sample
    checkpoint_path = pretrained_dir / 'xsub.pdparams'
    net, graph, data_shape, _ = build_model(load_config('2001'))
    load_model_state(net, model_state_of(load_checkpoint(checkpoint_path)), checkpoint_path)
    net.eval()
    paths = sorted(real_skeleton_dir.glob('*.skeleton'))[:4]
    batch = np.stack([build_inputs(load_sample(path)[0][:, :data_shape[2]], 'JVB',
                                   graph.connect_joint) for path in paths])
    with paddle.no_grad():
        fast = net(paddle.to_tensor(batch))[0].numpy()
        with monkeypatch.context() as gpu_forms:
            gpu_forms.setattr(native, '_library', lambda: None)
            gpu_forms.setattr(fast_ops, '_on_cpu_in_dygraph', lambda x: False)
            as_on_gpu = net(paddle.to_tensor(batch))[0].numpy()
        with reference_forms.plain_model(monkeypatch):
            plain = net(paddle.to_tensor(batch))[0].numpy()
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-4)
    np.testing.assert_allclose(as_on_gpu, plain, rtol=0, atol=1e-4)
    assert np.abs(plain).max() > 1   # real logits, not a vacuous match
