"""Checkpoints into a model: the published B0 checkpoints into configs 2001/2002 with every key
in place, other Paddle ports' files whatever their names, and one error line for a file that
cannot be used."""
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from utils.config import load_config
from dataset.graphs import Graph
from utils.errors import UserError
from initializer import build_model
from helpers import run_python
from random_weights import random_state
from model.checkpoint import (file_format, load_checkpoint, load_model_state, model_state_of,
                              record_of)


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
    graph = Graph('ntu')
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


# ---------------------------------------------------------------- other ports' files
def _port_conversion(state):
    """Another Paddle port's conversion of the official weights, as its script builds it: the
    PyTorch state's arrays with the batch-norm statistics renamed to _mean / _variance and
    PyTorch's num_batches_tracked counters kept."""
    converted = {}
    for key, value in state.items():
        converted[key] = np.asarray(value)
        if key.endswith('._variance'):
            converted[key[:-len('_variance')] + 'num_batches_tracked'] = np.array(52000)
    return converted


def test_another_ports_conversion_loads_into_its_config(tmp_path, pretrained_dir, caplog):
    """A `.pdparams.tar` of {'model', 'best_state'} written by paddle.save, counters kept:
    every weight lands, the counters are dropped with one log line, and the misfit hint for
    another config names the configs it fits."""
    import paddle

    from initializer import configs_that_fit, fit_hint
    published = load_checkpoint(pretrained_dir / 'xsub.pdparams')
    path = tmp_path / '2001_EfficientGCN-B0_ntu-xsub.pdparams.tar'
    paddle.save({'model': _port_conversion(published['model']),
                 'best_state': published['best_state']}, str(path))
    caplog.set_level('INFO')
    checkpoint = load_checkpoint(path)
    counted = [r.getMessage() for r in caplog.records if 'num_batches_tracked' in r.getMessage()]
    batch_norms = sum(key.endswith('._variance') for key in published['model'])
    assert len(counted) == 1 and f'left out {batch_norms} num_batches_tracked' in counted[0]
    assert record_of(checkpoint) == 'top-1 90.22%'
    net, *_ = build_model(load_config('2001'))
    load_model_state(net, checkpoint['model'], path)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), published['model'][key], err_msg=key)
    assert configs_that_fit(checkpoint['model'])[0] == ['2001', '2002', '3001', '3002']
    assert 'no numbered config' not in fit_hint(checkpoint['model'])


def test_paddle_files_under_pytorch_names_and_in_pytorch_names(tmp_path):
    """What decides the format is the bytes: a port's run checkpoint (paddle.save of model,
    optimizer, scheduler, best_state, epoch) named checkpoint.pth.tar; a Paddle pickle whose
    state keeps PyTorch's batch-norm names; the state as a list of (name, array) pairs."""
    import paddle
    net, *_ = build_model(load_config('2001'))
    expected = random_state(net)
    schedule = paddle.optimizer.lr.LambdaDecay(0.1, lambda step: 0.5)
    optimizer = paddle.optimizer.Momentum(schedule, momentum=0.9, use_nesterov=True,
                                          parameters=net.parameters())
    run = tmp_path / 'checkpoint.pth.tar'
    paddle.save({'model': net.state_dict(), 'optimizer': optimizer.state_dict(),
                 'scheduler': schedule.state_dict(),
                 'best_state': {'acc_top1': 0.5, 'acc_top5': 0.75, 'cm': np.eye(60)},
                 'epoch': 7}, str(run))
    torch_names = tmp_path / 'torch_names.pdparams'
    renamed = {key.replace('._mean', '.running_mean').replace('._variance', '.running_var'):
               value for key, value in expected.items()}
    paddle.save({'model': renamed}, str(torch_names))
    pairs = tmp_path / 'pairs.pdparams'
    pairs.write_bytes(pickle.dumps({'model': list(expected.items())}, protocol=4))
    for path in (run, torch_names, pairs):
        assert file_format(path) == 'pickle'
        checkpoint = load_checkpoint(path)
        fresh, *_ = build_model(load_config('2001'))
        load_model_state(fresh, checkpoint['model'], path)
        for key, value in fresh.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), expected[key], err_msg=f'{path} {key}')
    assert record_of(load_checkpoint(run)) == 'epoch 7, top-1 50.00%'


def test_every_checkpoint_error_is_one_line_naming_the_file_and_what_it_is(tmp_path):
    fixtures = Path(__file__).resolve().parent / 'fixtures'
    authors = (fixtures / 'tiny_official.pth.tar').read_bytes()
    legacy = (fixtures / 'legacy_format.pth').read_bytes()
    paddle_pickle = pickle.dumps({'model': {'w': np.ones((64, 64), np.float32)}}, protocol=4)
    not_a_torch_zip = io.BytesIO()
    with zipfile.ZipFile(not_a_torch_zip, 'w') as archive:
        archive.writestr('model/weights.bin', b'0' * 100)
    files = {
        'empty.pth.tar': (b'', 'is empty (0 bytes)'),
        'notes.pdparams': (b'some text', 'is neither a Paddle nor a PyTorch checkpoint'),
        'model.pdparams': (not_a_torch_zip.getvalue(), 'is a zip archive without data.pkl'),
        'cut.pth.tar': (authors[:len(authors) // 2],
                        '(a PyTorch zip checkpoint) cannot be read: it is cut short'),
        'cut_legacy.pth': (legacy[:len(legacy) // 2], '(a PyTorch checkpoint in its older '
                           'format) cannot be read: it is cut short'),
        'cut.pdparams': (paddle_pickle[:len(paddle_pickle) // 2],
                         '(a Paddle pickle) cannot be read: it is cut short'),
        'list.pdparams': (pickle.dumps([1, 2]), 'holds a list, not a dict of weights'),
        'no_weights.pdparams': (pickle.dumps({'epoch': 3}), 'holds no model weights'),
    }
    paths = []
    for name, (content, _) in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(content)
    (tmp_path / 'folder.pdparams').mkdir()
    paths += [tmp_path / 'folder.pdparams', tmp_path / 'absent.pdparams']
    fragments = [fragment for _, fragment in files.values()] + ['is a folder', 'does not exist']
    code = ('import sys, main\n'
            'for path in sys.argv[1:]:\n'
            '    assert main.main(["-c", "2001", "-e", "-pp", path]) == 1\n')
    result = run_python('-c', code, *paths)
    assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == len(paths), result.stderr
    for line, path, fragment in zip(errors, paths, fragments):
        assert line.startswith(f'error: checkpoint {path} ') and fragment in line, line


def test_the_readme_fine_tuning_recipe_loads_xsub_into_own_classes(tmp_path, pretrained_dir):
    """docs/checkpoints.md's recipe: a copy of 3001 with 10 classes, trained from the published X-sub
    checkpoint, gets every weight but the classifier from it."""
    import argparse

    from processor import Processor
    from utils.config import apply_overrides
    path = pretrained_dir / 'xsub.pdparams'
    cfg = apply_overrides(load_config('3001'), [
        'dataset=pose-mine', 'dataset_args.pose.num_class=10', 'dataset_args.pose.class_names=',
        'gpus=[]', f'pretrained_path={path}', f'work_dir={tmp_path}'])
    processor = Processor(cfg)
    processor.load_pretrained(new_classifier=True)
    published = load_checkpoint(path)['model']
    for key, value in processor.net.state_dict().items():
        if key.startswith('classifier.'):
            assert value.shape[0] == 10, key
        else:
            np.testing.assert_array_equal(value.numpy(), published[key], err_msg=key)
