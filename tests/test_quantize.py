"""-ex --quantize and infer.py's --precision: the quantised forms are written beside the float32
export with their .yml, run by infer.py with no other flag, checked against float32, and a form
that loses float32's top-1 is caught by that check, never the default."""
import json
import shutil

import numpy as np
import pytest
import yaml

from helpers import config_of, demo_args, run_main, run_python
from test_infer import random_checkpoint


def infer(*args):
    return run_python('infer.py', *args)


def read_yml(path):
    return yaml.safe_load(path.read_text())


def top1_of(output_file):
    results = json.loads(output_file.read_text())
    return {name: int(np.argmax(entry['logits'])) for name, entry in results.items()}


@pytest.mark.slow
def test_quantised_demo_export_and_inference_end_to_end(small_demo_data, tmp_path):
    """The demo's export with --quantize int8 bf16: the int8 .onnx and the bf16 program beside
    the float32 files, their .yml naming the precision and calibration set, the float32 .yml
    listing both; infer.py runs each by its file alone, --benchmark names the precision and
    --precision auto picks one of the .onnx model's forms after timing them."""
    checkpoint = tmp_path / 'demo.pdparams'
    random_checkpoint(config_of('1001'), checkpoint)
    result = run_main(*demo_args(small_demo_data, tmp_path / 'work',
                                 'quantization.calibration_samples=6'),
                      '-ex', '-pp', checkpoint, '-g', '--quantize', 'int8', 'bf16')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'demo_int8.onnx (int8, ONNX Runtime): top-1 agreement with float32' in result.stdout
    int8, bf16 = read_yml(tmp_path / 'demo_int8.yml'), read_yml(tmp_path / 'demo_bf16.yml')
    assert (int8['model_file'], int8['precision'], int8['float_model']) == \
        ('demo_int8.onnx', 'int8', 'demo.json')
    assert int8['calibration']['file'].endswith('train_data.npy')
    assert int8['calibration']['samples'] == 6 and int8['held_out']['samples'] == 6
    assert int8['check']['accepted'] and int8['check']['top1_agreement_held_out'] == 1.0
    assert (bf16['model_file'], bf16['params_file']) == ('demo_bf16.json', 'demo.pdiparams')
    listed = read_yml(tmp_path / 'demo.yml')['quantized']
    assert listed['int8'] == {'model_file': 'demo_int8.onnx', 'runtime': 'ONNX Runtime',
                              'accepted': True}
    assert listed['bf16']['model_file'] == 'demo_bf16.json'
    data = small_demo_data / 'npy' / 'original' / 'ntu-xsub' / 'eval_data.npy'
    outputs = {}
    for name in ('demo.onnx', 'demo_int8.onnx', 'demo_bf16.json'):
        outputs[name] = tmp_path / f'{name}.json'
        run = infer('--model_file', tmp_path / name, '--data_file', data, '--output',
                    outputs[name], '--benchmark', '--batch-size', '4')
        assert run.returncode == 0, run.stderr[-3000:]
        precision = name.partition('_')[2].partition('.')[0] or 'fp32'
        assert f', {precision}, batch 4): ' in run.stdout
    assert top1_of(outputs['demo_int8.onnx']) == top1_of(outputs['demo.onnx'])
    auto = infer('--model_file', tmp_path / 'demo.onnx', '--precision', 'auto', '--benchmark',
                 '--batch-size', '4')
    assert auto.returncode == 0, auto.stderr[-3000:]
    assert 'notice: --precision auto: fp32 ' in auto.stderr and ', int8 ' in auto.stderr
    chosen = auto.stderr.split('here: running ')[1].split()[0]
    assert chosen.endswith(('demo.onnx', 'demo_int8.onnx'))
    assert (', int8, batch 4)' in auto.stdout) == chosen.endswith('demo_int8.onnx')


def copy_export(model_file, folder, name):
    """The float32 export's files under another folder (the session's export stays read-only)."""
    for suffix in ('.json', '.pdiparams', '.onnx', '.yml'):
        shutil.copyfile(model_file.with_suffix(suffix), folder / f'{name}{suffix}')
    return folder / f'{name}.json'


def test_a_single_constant_calibration_sample_is_caught_by_the_check(
        exported_xsub32, small_demo_data, tmp_path, caplog):
    """Calibrated on one constant (all-zero) sample, the int8 model loses float32's top-1 on
    the held-out samples (the demo's eval data): the export says so in one line, records it as
    not accepted, and infer.py's --precision int8 and auto keep float32; run by its own file
    it runs, with a warning."""
    from exporter.quantize import quantize_export
    model_file = copy_export(exported_xsub32, tmp_path, 'xsub32')
    held_out = small_demo_data / 'npy' / 'original' / 'ntu-xsub' / 'eval_data.npy'
    broken = tmp_path / 'broken' / 'original' / 'ntu-xsub'
    broken.mkdir(parents=True)
    shape = np.load(held_out, mmap_mode='r').shape[1:]
    np.save(broken / 'train_data.npy', np.zeros((1,) + shape, np.float32))
    (broken / 'eval_data.npy').symlink_to(held_out)
    cfg = config_of('2001', 'dataset_args.ntu.num_frame=32', 'quantization.calibration_samples=1',
                    root_folder=str(tmp_path / 'broken'))
    with caplog.at_level('INFO'):
        record = quantize_export(cfg, ['int8'], tmp_path / 'xsub32.pdparams')['int8']
    assert not record['accepted'] and record['top1_agreement_held_out'] < 0.99
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1 and 'xsub32_int8.onnx keeps less than 99%' in warnings[0]
    assert 'float32 stays the default' in warnings[0]
    assert read_yml(tmp_path / 'xsub32.yml')['quantized']['int8']['accepted'] is False
    assert read_yml(tmp_path / 'xsub32_int8.yml')['check']['accepted'] is False
    for precision in ('int8', 'auto'):
        run = infer('--model_file', model_file.with_suffix('.onnx'), '--precision', precision,
                    '--benchmark', '--batch-size', '2')
        assert run.returncode == 0, run.stderr[-3000:]
        assert ', fp32, batch 2)' in run.stdout and 'int8' not in run.stdout
    direct = infer('--model_file', tmp_path / 'xsub32_int8.onnx', '--benchmark',
                   '--batch-size', '2')
    assert direct.returncode == 0 and 'failed its export check' in direct.stderr


PUBLISHED = [('xsub', '2001', 'exported_xsub'), ('xview', '2002', 'exported_xview')]


@pytest.mark.slow
@pytest.mark.parametrize('name, config_id, exported', PUBLISHED)
def test_published_checkpoints_int8_keeps_every_top1_of_float32_on_the_real_files(
        name, config_id, exported, request, real_arrays, real_skeleton_dir, clip_poses,
        tmp_path):
    """The published checkpoints' int8 models, calibrated on the real files' training split,
    give float32's top-1 on all 12 NTU files and every window of both clips: the sensitivity
    scan, on the calibration samples only, puts the convs that would change it back to float32
    (X-sub's Conv.11 alone flips 6 files and both clips' windows) and the .yml lists them."""
    from deploy.model_config import read_deploy_config
    from exporter.quantize import logits_of, quantize_export, runner_for
    from real_inputs import real_inputs
    model_file = copy_export(request.getfixturevalue(exported), tmp_path, name)
    cfg = config_of(config_id, root_folder=str(real_arrays(config_id)))
    record = quantize_export(cfg, ['int8'], tmp_path / f'{name}.pdparams')['int8']
    names, inputs = real_inputs(model_file, read_deploy_config(model_file), real_skeleton_dir,
                                clip_poses)
    assert len(names) >= 14   # 12 files and at least a window of each clip
    expected = logits_of(runner_for(model_file.with_suffix('.onnx')), inputs).argmax(1)
    got = logits_of(runner_for(tmp_path / f'{name}_int8.onnx', 'int8'), inputs).argmax(1)
    assert [n for n, e, g in zip(names, expected, got) if e != g] == []
    assert record['accepted']
    scan = read_yml(tmp_path / f'{name}_int8.yml')['sensitivity_scan']
    assert scan['max_logit_change'] == 0.1 and scan['int8_convs'] >= 4
    assert scan['predicted_logit_change'] <= 0.1 * scan['logit_spread']


def test_the_scan_keeps_in_float32_the_fewest_most_sensitive_convs():
    """The convs go back to float32 most sensitive first until the root-sum-square of the
    others' sensitivities is within the budget; no conv is kept when all fit."""
    from exporter.sensitivity import kept_in_float32, logit_spread
    scores = {'a': 0.3, 'b': 19.5, 'c': 0.4, 'd': 0.1}
    kept, predicted = kept_in_float32(scores, 0.45)
    assert kept == ['b', 'c'] and predicted == pytest.approx((0.3 ** 2 + 0.1 ** 2) ** 0.5)
    assert kept_in_float32(scores, 20) == ([], pytest.approx(sum(v * v for v in
                                                                 scores.values()) ** 0.5))
    assert kept_in_float32(scores, 0)[0] == ['b', 'c', 'a', 'd']
    assert logit_spread(np.array([[1., 3.], [0., 4.]])) == pytest.approx(1.5)


def write_forms(folder, accepted):
    """A float32 .json model's .yml listing a bf16 form and the files they name (empty: the
    runners are fakes); `accepted`: the bf16 check's outcome."""
    base = {'params_file': 'm.pdiparams', 'inputs': 'JVB', 'num_frame': 4, 'transform': False,
            'num_class': 2, 'input_shape': [-1, 3, 6, 4, 25, 2], 'connect_joint': [0] * 25,
            'class_names': ['a', 'b']}
    for name in ('m.json', 'm.pdiparams', 'm_bf16.json'):
        (folder / name).touch()
    (folder / 'm.yml').write_text(yaml.safe_dump({**base, 'quantized': {'bf16': {
        'model_file': 'm_bf16.json', 'runtime': 'Paddle Inference', 'accepted': accepted}}}))
    (folder / 'm_bf16.yml').write_text(yaml.safe_dump({
        **base, 'precision': 'bf16', 'float_model': 'm.json',
        'check': {'accepted': accepted, 'min_agreement': 0.99}}))
    return folder / 'm.json'


@pytest.mark.parametrize('bf16_here, accepted, expected', [
    (True, True, 'bf16'), (False, True, 'fp32'), (True, False, 'fp32')])
def test_precision_auto_times_only_accepted_forms_that_run_as_exported(
        bf16_here, accepted, expected, tmp_path, monkeypatch, capsys):
    """--precision auto on a .json model: the bf16 form (made the faster here) is timed and
    chosen only when its check accepted it and this CPU runs bfloat16 (Paddle needs AVX-512);
    otherwise float32 runs with one notice."""
    import time
    from deploy import precision
    from deploy.options import RuntimeOptions
    monkeypatch.setattr(precision, 'runs_in_float32', lambda: not bf16_here)
    model_file = write_forms(tmp_path, accepted)

    def make_runner(model_file, params, options, threads, input_shape, model_precision):
        def run(batch):
            time.sleep(0.01 if model_precision == 'bf16' else 0.03)
            return np.zeros((len(batch), 2), np.float32)
        run.precision = model_precision
        return run
    options = RuntimeOptions(precision='auto', batch_size=1)
    deploy = precision.read_deploy_config(model_file)
    runner, chosen = precision.model_runner(model_file, None, options, deploy, 1, make_runner)
    assert runner.precision == expected == chosen.get('precision', 'fp32')
    notices = capsys.readouterr().err
    assert notices.count('notice: --precision auto') == 1
    assert ('bf16 ' in notices) == (expected == 'bf16')


def test_quantize_without_export_or_training_data_is_one_line(tmp_path):
    """--quantize alone, and an export whose config has no generated training data, are one
    error line each, before anything is written."""
    from exporter.quantize import calibration_sets
    from utils.errors import UserError
    result = run_main('-c', '1001', '--quantize', 'int8')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == 'error: --quantize belongs to -ex (export)'
    cfg = config_of('2001', root_folder=str(tmp_path / 'none'))
    with pytest.raises(UserError, match=r'train_data.npy does not exist: generate it with '
                                        r'`python main.py -c 2001 -gd`'):
        calibration_sets(cfg, {}, 4)
    assert not list(tmp_path.iterdir())
    from exporter.quantize import quantization_settings
    for entries in ({'calibration_samples': 0, 'min_agreement': 0.99},
                    {'calibration_samples': 8, 'min_agreement': 1.5},
                    {'calibration_samples': 8, 'min_agreement': 0.99, 'max_logit_change': 0}):
        with pytest.raises(UserError, match='quantization.'):
            quantization_settings({'quantization': entries})


def test_a_wrong_quantization_entry_is_one_line_before_the_export(small_demo_data, tmp_path):
    checkpoint = tmp_path / 'demo.pdparams'
    random_checkpoint(config_of('1001'), checkpoint)
    result = run_main(*demo_args(small_demo_data, tmp_path / 'work',
                                 'quantization.max_logit_change=-1'),
                      '-ex', '-pp', checkpoint, '-g', '--quantize', 'int8')
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        'error: quantization.max_logit_change must be a share of the logit spread above 0')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['demo.pdparams']   # nothing exported
