"""The published B0 checkpoints load into configs 2001/2002 with every key in place."""
import numpy as np
import pytest

from utils.config import load_config
from dataset.graphs import Graph
from utils.errors import UserError
from initializer import build_model
from model.checkpoint import load_checkpoint, load_model_state, model_state_of


def _load(pretrained_dir, name, config_id):
    checkpoint = load_checkpoint(pretrained_dir / f'{name}.pdparams')
    net, *_ = build_model(load_config(config_id))
    state = model_state_of(checkpoint)
    return net, state, checkpoint


def test_checkpoints_hold_the_seed_keys(pretrained_dir):
    for name in ('xsub', 'xview'):
        checkpoint = load_checkpoint(pretrained_dir / f'{name}.pdparams')
        assert {'model', 'opt', 'epoch', 'best_state', 'scheduler'} <= set(checkpoint)


def test_xsub_and_xview_load_without_missing_or_unexpected_keys(pretrained_dir):
    for name, config_id in (('xsub', '2001'), ('xview', '2002')):
        net, state, _ = _load(pretrained_dir, name, config_id)
        assert set(net.state_dict()) == set(state)
        load_model_state(net, state, name)
        loaded = net.state_dict()
        for key in ('classifier.fc.weight', 'main_stream.block-1_att.att.conv_v.bias'):
            np.testing.assert_array_equal(loaded[key].numpy(), np.asarray(state[key]))


def test_graph_equals_the_stored_adjacency(pretrained_dir):
    graph = Graph('ntu-xsub')
    for name, config_id in (('xsub', '2001'), ('xview', '2002')):
        _, state, _ = _load(pretrained_dir, name, config_id)
        stored = [k for k in state if k.endswith('conv.A')]
        assert len(stored) == 11   # 3 branches x (stem + 2 blocks) + 2 main-stream blocks
        for key in stored:
            np.testing.assert_allclose(np.asarray(state[key]), graph.A[:3], atol=1e-6)


def test_mismatched_checkpoint_names_the_first_key(pretrained_dir):
    _, state, _ = _load(pretrained_dir, 'xsub', '2001')
    net_b2, *_ = build_model(load_config('2005'))
    with pytest.raises(UserError, match=r'xsub.pdparams does not fit .*key input_branches'):
        load_model_state(net_b2, state, 'xsub.pdparams')


def test_corrupt_or_missing_checkpoint_is_a_user_error(tmp_path):
    corrupt = tmp_path / 'corrupt.pdparams'
    corrupt.write_bytes(b'not a checkpoint')
    with pytest.raises(UserError, match='corrupt.pdparams cannot be read'):
        load_checkpoint(corrupt)
    with pytest.raises(UserError, match='does not exist'):
        load_checkpoint(tmp_path / 'absent.pdparams')
