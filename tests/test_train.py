"""Training end to end on small generated-format data: outputs, the run's record, exact resume
(never of another config's checkpoint), evaluation, fine-tuning on other classes."""
import json
import pickle
import subprocess

import numpy as np
import paddle
import pytest
import yaml

from helpers import demo_args, kill_once_written, run_main, tiny_config
from fake_data import write_generated_split
from initializer import build_model
from model.checkpoint import load_checkpoint, record_of
from random_weights import random_state
from utils.config import REPO_DIR, apply_overrides, load_config
from utils.errors import UserError
from utils.runs import checkpoint_path


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('generated')
    folder = root / 'original' / 'ntu-xsub'
    write_generated_split(folder, 'train', [i % 4 for i in range(24)])
    write_generated_split(folder, 'eval', [i % 4 for i in range(10)], seed=1)
    return root


def write_config(tmp_path, data_root, work_dir, epochs=2):
    cfg = tiny_config(load_config('2001'), data_root, work_dir, epochs=epochs)
    path = tmp_path / f'tiny_{work_dir.name}.yaml'
    path.write_text(yaml.safe_dump(cfg))
    return path


def checkpoint_of(config):
    """Where the config (a file written by write_config) keeps its resumable checkpoint."""
    return checkpoint_path(load_config(str(config)))


def final_model(config):
    return paddle.load(str(checkpoint_of(config)))


def check_run_outputs(work_dir, config):
    """What a finished two-epoch run of `config` leaves in work_dir."""
    run_dir = next(work_dir.glob('*/*/'))
    assert {'log.txt', 'config.yaml', 'best.pdparams', 'eval_results.json',
            'eval_scores.pkl'} <= {p.name for p in run_dir.iterdir()}
    assert list(run_dir.glob('events.out.tfevents.*'))
    log = (run_dir / 'log.txt').read_text()
    assert 'Epoch: 2/2, Training accuracy' in log and 'Top-1 accuracy' in log
    results = json.loads((run_dir / 'eval_results.json').read_text())
    assert results['num_samples'] == 10 and results['epoch'] == 2
    scores = pickle.load(open(run_dir / 'eval_scores.pkl', 'rb'))
    assert len(scores) == 10 and next(iter(scores.values())).shape == (60,)
    checkpoint = final_model(config)
    assert checkpoint['epoch'] == 2 and {'model', 'opt', 'scheduler', 'best_state',
                                         'rng'} <= set(checkpoint)
    # -pp takes the run checkpoint too: its random generator states are read past
    assert record_of(load_checkpoint(checkpoint_of(config))).startswith('epoch 2, ')
    assert checkpoint_of(config).parent == run_dir.parent   # beside the config's runs
    assert checkpoint['owner'] == {'config': config.stem, 'model': {
        'model_type': 'EfficientGCN-B0', 'layer_type': 'SG', 'att_type': 'stja',
        'num_class': 60, 'data_shape': [3, 6, 16, 25, 2]}, 'amp_level': None}
    assert not list(work_dir.rglob('*.tmp')) and not (work_dir / 'checkpoint.pdparams').exists()


def test_the_run_folder_records_what_produced_the_run(tmp_path, data_root):
    """config.yaml: the resolved config and `run:` (command, Paddle and its build, commit,
    devices, processes, AMP level, seed); log.txt begins with the same."""
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, data_root, work_dir, epochs=1)
    result = run_main('-c', str(config), '-s', '5', '--amp')
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = next(work_dir.glob('*/*/'))
    saved = yaml.safe_load((run_dir / 'config.yaml').read_text())
    run = saved.pop('run')
    # --amp sets the config entry (O1 when the config has none); on the CPU it runs in float32
    assert saved == {**load_config(str(config)), 'seed': 5, 'amp_level': 'O1'}
    head = subprocess.run(['git', '-C', str(REPO_DIR), 'rev-parse', 'HEAD'], capture_output=True,
                          text=True).stdout.strip()
    cuda = paddle.device.is_compiled_with_cuda()
    assert run.pop('started') and run.pop('python')
    assert run.pop('commit').split(' (')[0] == head and len(head) == 40
    assert run == {
        'command': f'python main.py -c {config} -s 5 --amp', 'paddle': paddle.__version__,
        'paddle_build': f'CUDA {paddle.version.cuda()}, cuDNN {paddle.version.cudnn()}' if cuda
        else 'CPU build, no CUDA', 'devices': ['cpu'], 'processes': 1, 'amp_level': 'off',
        'seed': 5}
    first_lines = [line.split('] ', 1)[1] for line in
                   (run_dir / 'log.txt').read_text().splitlines()[:3]]
    assert first_lines[0] == f'Run: python main.py -c {config} -s 5 --amp'
    assert first_lines[1].startswith(f'Paddle {paddle.__version__} (') and head in first_lines[1]
    assert first_lines[2] == 'Devices cpu (1 process(es)), AMP off, seed 5'
    # the saved config.yaml runs again as it is (its record is dropped on loading)
    again = run_main('-c', str(run_dir / 'config.yaml'), '-pf')
    assert again.returncode == 0 and 'EfficientGCN-B0 (config config)' in again.stdout


@pytest.mark.slow
def test_training_writes_the_run_outputs_and_a_killed_run_resumes_to_the_same_parameters(
        tmp_path, data_root):
    straight = tmp_path / 'straight'
    config = write_config(tmp_path, data_root, straight)
    result = run_main('-c', str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    check_run_outputs(straight, config)

    killed = tmp_path / 'killed'
    config = write_config(tmp_path, data_root, killed)
    checkpoint = checkpoint_of(config)
    kill_once_written(['main.py', '-c', config], checkpoint)
    assert paddle.load(str(checkpoint))['epoch'] == 1, 'the kill must land during epoch 2'

    resumed = run_main('-c', str(config), '-r')
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'Resumed from' in resumed.stdout and 'Epoch: 1/2' not in resumed.stdout
    run_dir = next(killed.glob('*/*/'))   # the same folder, its record kept
    run = yaml.safe_load((run_dir / 'config.yaml').read_text())['run']
    assert run['command'] == f'python main.py -c {config}'
    assert [(r['after_epoch'], r['command']) for r in run['resumed']] == [
        (1, f'python main.py -c {config} -r')]
    a, b = final_model(tmp_path / 'tiny_straight.yaml'), final_model(config)
    assert a['epoch'] == b['epoch'] == 2
    for key, value in a['model'].items():
        np.testing.assert_array_equal(np.asarray(b['model'][key]), np.asarray(value),
                                      err_msg=key)   # bit for bit


def test_resume_without_checkpoint_is_one_line(tmp_path, data_root):
    config = write_config(tmp_path, data_root, tmp_path / 'none')
    result = run_main('-c', str(config), '-r')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f'error: checkpoint {checkpoint_of(config)} does not exist']


def test_evaluate_scores_every_sample_and_names_bad_checkpoints(tmp_path, data_root):
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, data_root, work_dir, epochs=1)
    assert run_main('-c', str(config)).returncode == 0
    best = next(work_dir.glob('*/*/best.pdparams'))
    result = run_main('-c', str(config), '-e', '-pp', str(best))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'Top-1 accuracy' in result.stdout and '/10(' in result.stdout
    wrong = run_main('-c', str(config), '-mt', 'EfficientGCN-B2', '-e', '-pp', str(best))
    assert wrong.returncode == 1 and 'does not fit' in wrong.stderr and 'key' in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_cpu_fallback_warns_for_gpus_and_records_amp(tmp_path, data_root):
    """-g without CUDA: one warning line on stderr, and in the log; --amp O2 trains in float32
    on the CPU, and the run's config.yaml records amp_level O2."""
    if paddle.device.is_compiled_with_cuda():
        pytest.skip('this Paddle build has CUDA')
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, data_root, work_dir, epochs=1)
    result = run_main('-c', str(config), '-g', '0', '--amp', 'O2')
    assert result.returncode == 0, result.stderr[-2000:]
    warning = ('GPUs [0] were asked for (-g, gpus), but this Paddle build has no CUDA '
               '(install paddlepaddle-gpu: docs/gpu.md): running on the CPU')
    assert [line for line in result.stderr.splitlines() if warning in line] == \
        [f'warning: {warning}']
    run_dir = next(work_dir.glob('*/*/'))
    log = (run_dir / 'log.txt').read_text()
    assert warning in log
    assert '1 loader worker(s) per process; float32 (amp_level O2, --amp, is used on GPU only)' \
        in log
    assert yaml.safe_load((run_dir / 'config.yaml').read_text())['amp_level'] == 'O2'


# ---------------------------------------------------------------- fine-tuning on other classes
@pytest.fixture(scope='module')
def checkpoint_of_120_classes(tmp_path_factory):
    """A checkpoint of the demo's architecture for 120 classes (as an X-sub120 one), every
    weight and batch-norm statistic random: (path, its state as numpy)."""
    net = build_model(apply_overrides(load_config('1001'), ['dataset=ntu-xsub120']))[0]
    state = random_state(net)
    path = tmp_path_factory.mktemp('checkpoint') / 'xsub120.pdparams'
    paddle.save({'model': net.state_dict(), 'epoch': 40,
                 'best_state': {'acc_top1': 0.8, 'acc_top5': 0.9, 'cm': np.eye(120)}}, str(path))
    return path, state


def demo_processor(tmp_path, pretrained_path, config='1001'):
    from processor import Processor
    cfg = apply_overrides(load_config(config), [f'pretrained_path={pretrained_path}',
                                                f'work_dir={tmp_path / "work"}'])
    return Processor(cfg)


def test_fine_tuning_keeps_every_weight_but_a_new_classifier(tmp_path,
                                                            checkpoint_of_120_classes):
    """Training config 1001 (60 classes) from a 120-class checkpoint: every weight but the
    classifier's is the checkpoint's; the classifier is the official init's, normal with std
    0.001 and a zero bias."""
    path, saved = checkpoint_of_120_classes
    processor = demo_processor(tmp_path, path)
    processor.load_pretrained(new_classifier=True)
    state = {key: value.numpy() for key, value in processor.net.state_dict().items()}
    assert set(state) == set(saved)
    for key, value in state.items():
        if not key.startswith('classifier.'):
            np.testing.assert_array_equal(value, saved[key], err_msg=key)
    weight, bias = state['classifier.fc.weight'], state['classifier.fc.bias']
    assert weight.shape[0] == 60 and saved['classifier.fc.weight'].shape[0] == 120
    assert not np.isclose(weight, saved['classifier.fc.weight'][:60]).any()
    assert abs(weight.std() - 0.001) < 1e-4 and abs(weight.mean()) < 1e-4
    assert not bias.any()


def test_any_other_misfit_stays_an_error_when_training(tmp_path):
    """A B2 checkpoint (other blocks as well as another classifier) into the B0 demo."""
    net = build_model(apply_overrides(load_config('1001'), ['model_type=EfficientGCN-B2',
                                                            'dataset=ntu-xsub120']))[0]
    path = tmp_path / 'b2.pdparams'
    paddle.save({'model': net.state_dict()}, str(path))
    with pytest.raises(UserError, match=r'b2.pdparams does not fit .*key input_branches'):
        demo_processor(tmp_path, path).load_pretrained(new_classifier=True)


def test_fine_tuning_trains_and_evaluating_with_another_head_is_an_error(
        tmp_path, checkpoint_of_120_classes):
    """main.py -c 1001 -pp: a log line names what was left out, and two training steps run;
    -e with the same checkpoint is one error line."""
    path, _ = checkpoint_of_120_classes
    args = demo_args(tmp_path, tmp_path / 'work', 'dataset_args.ntu.synthetic.actions=[1,2]',
                     'dataset_args.ntu.synthetic.samples_per_action=4',
                     'dataset_args.ntu.train_batch_size=2', 'scheduler_args.cosine.max_epoch=1',
                     'scheduler_args.cosine.warm_up=0')
    result = run_main(*args, '-pp', path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Loaded {path} (its record: epoch 40, top-1 80.00%)' in result.stdout
    assert ("the checkpoint's classifier is for 120 classes, this config has 60: left out "
            'classifier.fc.weight [120, 128, 1, 1, 1] (model: [60, 128, 1, 1, 1]), '
            'classifier.fc.bias [120] (model: [60])') in result.stdout
    assert 'Epoch: 1/1, Batch: 2/2' in result.stdout, result.stdout[-3000:]
    evaluate = run_main(*args, '-e', '-pp', path)
    assert evaluate.returncode == 1 and 'Traceback' not in evaluate.stderr
    assert evaluate.stderr.strip().splitlines() == [
        f'error: checkpoint {path} does not fit this config\'s model: key classifier.fc.weight '
        'has shape [120, 128, 1, 1, 1], the model needs [60, 128, 1, 1, 1] (a classifier for '
        '120 classes: training from it starts a new one for this config\'s 60); it is '
        'EfficientGCN-B0 with SG layers, 120 classes: configs 2003, 2004, 3003, 3004 fit']


# ---------------------------------------------------------------- resume: never another experiment
def demo_arguments(tmp_path, config, *extra):
    """config 1001 (or one over it), a one-epoch run on a few synthetic samples under tmp_path."""
    return [*demo_args(tmp_path, tmp_path / 'work',
                       'dataset_args.ntu.synthetic.samples_per_action=4',
                       'dataset_args.ntu.num_frame=16', 'scheduler_args.cosine.max_epoch=1',
                       'scheduler_args.cosine.warm_up=0', config=config), *extra]


def files_and_mtimes(folder):
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob('*'))}


@pytest.mark.slow
def test_resume_never_continues_another_configs_checkpoint(tmp_path):
    """1001 trains; -r with another config (or another model under 1001's name) is one line
    saying whose the checkpoint is and where this config's would be, and leaves 1001's run
    folder and checkpoint as they were. A checkpoint without an owner record (in the work
    dir's shared place) is judged by its run folder: another config's is refused, 1001's own
    resumes."""
    work = tmp_path / 'work'
    trained = run_main(*demo_arguments(tmp_path, '1001'))
    assert trained.returncode == 0, trained.stderr[-2000:]
    own = work / '1001_EfficientGCN-B0_ntu-xsub' / 'checkpoint.pdparams'
    other = tmp_path / 'other.yaml'
    other.write_text('_base_: 1001\n')
    others = work / 'other_EfficientGCN-B0_ntu-xsub' / 'checkpoint.pdparams'
    model = '{} EfficientGCN-B0 (SG layers, stja attention, 60 classes, input 3x6x{}x25x2)'
    before = files_and_mtimes(work)

    def refused(config, *extra):
        result = run_main(*demo_arguments(tmp_path, config, *extra))
        assert result.returncode == 1, result.stdout[-2000:]
        assert files_and_mtimes(work) == before
        assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
        return result.stderr.strip()

    b0_1001, b0_other = model.format("config 1001's", 16), model.format("config other's", 16)
    assert refused(str(other), '-r') == f'error: checkpoint {others} does not exist'
    assert refused(str(other), '-r', str(own)) == (
        f"error: checkpoint {own} is {b0_1001}, not {b0_other}; config other's would be {others}")
    b0_1001_24 = model.format("config 1001's", 24)
    assert refused('1001', '-r', '--set', 'dataset_args.ntu.num_frame=24') == (
        f"error: checkpoint {own} is {b0_1001}, not {b0_1001_24}; config 1001's would be {own}")

    shared = work / 'checkpoint.pdparams'   # where every config wrote before
    old = paddle.load(str(own))
    run_dir = old['run_dir']
    paddle.save({k: v for k, v in old.items() if k != 'owner'}, str(shared))
    before = files_and_mtimes(work)
    assert refused(str(other), '-r') == (
        f"error: checkpoint {shared} (written before checkpoints recorded their config) is the "
        f"run {run_dir}'s, not config other's (config other's would be {others})")

    own.unlink()
    resumed = run_main(*demo_arguments(tmp_path, '1001', '-r'))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f'its run folder {run_dir} is this config' in resumed.stdout
    assert f'Resumed from {shared} after epoch 1' in resumed.stdout
