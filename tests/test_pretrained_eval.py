"""-e with the published checkpoints on the real NTU files, generated with 2001 / 2002 settings."""
import json
import pickle

import numpy as np
import pytest

from helpers import run_main, set_args
from utils.config import load_config

# (config, checkpoint, eval samples in that benchmark's split, expected top-1 correct)
CASES = [('2001', 'xsub', 7, 6), ('2002', 'xview', 5, 5)]
FRAMES = 64   # of each real file, in the backend's comparison


@pytest.mark.parametrize('config_id,checkpoint,num_eval,num_correct', CASES)
def test_evaluate_published_checkpoint(tmp_path, real_arrays, pretrained_dir, config_id,
                                       checkpoint, num_eval, num_correct):
    work_dir = tmp_path / 'work'
    result = run_main('-c', config_id, '-e', '-np', '-g',
                      '-pp', pretrained_dir / f'{checkpoint}.pdparams', '-w', work_dir,
                      *set_args(f'dataset_args.ntu.root_folder={real_arrays(config_id)}'))
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


@pytest.mark.slow
@pytest.mark.parametrize('config_id,checkpoint,transform', [('2001', 'xsub', False),
                                                             ('2002', 'xview', True)])
def test_backend_and_folded_model_give_the_plain_logits(real_skeleton_dir, pretrained_dir,
                                                        config_id, checkpoint, transform):
    """A published checkpoint on every other real file (one- and two-person actions), their first
    FRAMES frames (the plain model is slow; -e's test checks the whole files' top-1): the plain
    model, the CPU backend on it, the folded model and the backend on that agree within 1e-4."""
    import model
    from dataset.inputs import build_inputs
    from initializer import build_model
    from model import cpu_backend
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from reader import load_sample
    from test_infer import dygraph_logits
    path = pretrained_dir / f'{checkpoint}.pdparams'
    net, graph, _, _ = build_model(load_config(config_id))
    load_model_state(net, model_state_of(load_checkpoint(path)), path)
    net.eval()
    inputs = np.stack([
        build_inputs(load_sample(p, transform=transform)[0][:, :FRAMES], 'JVB',
                     graph.connect_joint)
        for p in sorted(real_skeleton_dir.glob('*.skeleton'))[::2]])
    folded = model.reparameterize(net)
    plain, folded_plain = dygraph_logits(net, inputs), dygraph_logits(folded, inputs)
    assert cpu_backend.install(net) and cpu_backend.install(folded)
    backend, folded_backend = dygraph_logits(net, inputs), dygraph_logits(folded, inputs)
    for name, logits in [('backend', backend), ('folded', folded_plain),
                         ('folded + backend', folded_backend)]:
        np.testing.assert_allclose(logits, plain, rtol=0, atol=1e-4, err_msg=name)
    assert np.abs(plain).max() > 1   # real logits, not a vacuous match
    assert len(set(plain.argmax(axis=1))) >= 3   # the samples' own, not one answer for all


def test_xsub_logits_through_3001_are_those_through_2001(tmp_path, real_skeleton_dir,
                                                         real_arrays, pretrained_dir):
    """The 12 real files written as a 3D annotation pickle and evaluated with config 3001 give
    the logits that config 2001 gives on the .skeleton files (1e-5)."""
    from pose_files import write_ntu_annotations
    ann_file = write_ntu_annotations(real_skeleton_dir.glob('*.skeleton'), tmp_path / 'ntu.pkl')
    sets = {'2001': set_args(f'dataset_args.ntu.root_folder={real_arrays("2001")}'),
            '3001': set_args(f'dataset_args.pose.root_folder={tmp_path / "pose"}',
                             f'dataset_args.pose.ann_file={ann_file}')}
    assert run_main('-c', '3001', '-gd', '-np', *sets['3001']).returncode == 0
    scores = {}
    for config_id in ('2001', '3001'):
        work_dir = tmp_path / f'work{config_id}'
        result = run_main('-c', config_id, '-e', '-np', '-g', '-pp',
                          pretrained_dir / 'xsub.pdparams', '-w', work_dir, *sets[config_id])
        assert result.returncode == 0, result.stderr[-3000:]
        assert 'Top-1 accuracy: 6/7(' in result.stdout
        with open(next(work_dir.glob('*/*/eval_scores.pkl')), 'rb') as f:
            scores[config_id] = pickle.load(f)
    assert sorted(scores['3001']) == sorted(scores['2001']) and len(scores['2001']) == 7
    for name, logits in scores['2001'].items():
        np.testing.assert_allclose(scores['3001'][name], logits, rtol=0, atol=1e-5)
        assert np.abs(logits).max() > 1
