"""TensorFloat-32 on a GPU, emulated on the CPU (tf32_emulation.py): -ex checks its export on
the CPU in float32 wherever the model was built, and tools/check_gpu.py judges GPU logits in
float32 (TF32 off) tightly and with TF32 by a relative bound and the top-1; each passes on the
published X-sub checkpoint under TF32 and fails on a real export error (a batch norm left out of
the fold)."""
import logging

import numpy as np
import paddle
import pytest

from random_weights import delete_first_batch_norm
from tf32_emulation import emulated_gpu, round_to_tf32
from tools.gpu_checks import precision
from tools.gpu_checks.published import published_logits


def test_round_to_tf32_keeps_ten_mantissa_bits_rounding_to_nearest():
    ulp = 2.0 ** -10   # of TF32 at 1
    values = np.array([1 + ulp / 4, 1 + ulp / 2, 1 + 3 * ulp / 4, -(1 + ulp / 2), 3.0, np.inf],
                      np.float32)
    np.testing.assert_array_equal(round_to_tf32(values),
                                  [1, 1 + ulp, 1 + ulp, -(1 + ulp), 3.0, np.inf])


def published_model(pretrained_dir, frames):
    """The published X-sub model in eval mode (its weights do not depend on the frame count)."""
    import initializer
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    from utils.config import apply_overrides, load_config
    cfg = apply_overrides(load_config('2001'), [f'dataset_args.ntu.num_frame={frames}'])
    net, graph, data_shape, num_class = initializer.build_model(cfg)
    path = pretrained_dir / 'xsub.pdparams'
    load_model_state(net, model_state_of(load_checkpoint(path)), path)
    net.eval()
    return cfg, net, graph, data_shape, num_class


@pytest.mark.slow
def test_export_checks_on_the_cpu_under_tf32_and_still_fails_on_a_deleted_batch_norm(
        monkeypatch, tmp_path, pretrained_dir, caplog):
    import exporter
    import model
    from utils.errors import UserError
    gpu = emulated_gpu(monkeypatch)
    paddle.set_device('gpu:0')   # as the engine does for -ex on a GPU (configs say gpus: [0])
    cfg, net, graph, data_shape, num_class = published_model(pretrained_dir, frames=96)
    reference = model.reparameterize(net)   # the engine's eval model on a GPU
    monkeypatch.setattr(exporter.onnx_file, 'converter_and_runtime', lambda: None)  # Paddle's only
    stem = tmp_path / 'xsub'
    with caplog.at_level(logging.INFO, logger='exporter'):
        exporter.export(net, stem.with_suffix('.pdparams'), cfg, graph, data_shape, num_class,
                        reference)
    assert 'checked on the CPU in float32' in caplog.text
    assert paddle.get_device() == 'gpu:0'   # the caller's device, restored

    # the same check on the emulated GPU, as -ex ran it there: TF32 alone fails it
    calls = gpu.rounded_calls
    with pytest.raises(UserError, match='differs from the dygraph model by') as failure:
        exporter.check_round_trip(reference, exporter.paddle_program(stem), 'on the GPU',
                                  data_shape)
    assert gpu.rounded_calls > calls
    difference = float(str(failure.value).split(' by ')[1].split()[0])
    assert 1e-3 < difference < 1e-1

    delete_first_batch_norm(monkeypatch)
    with pytest.raises(UserError, match='differs from the dygraph model by'):
        exporter.export(net, (tmp_path / 'broken').with_suffix('.pdparams'), cfg, graph,
                        data_shape, num_class)


@pytest.fixture
def two_real_files(real_skeleton_dir, tmp_path):
    """Two real files (drink water, take off a shoe): the test runs the 300-frame model on
    them four times."""
    folder = tmp_path / 'skeletons'
    folder.mkdir()
    for path in sorted(real_skeleton_dir.glob('*.skeleton'))[::6]:
        (folder / path.name).symlink_to(path)
    return folder


@pytest.mark.slow
def test_check_gpu_comparisons_pass_under_tf32_and_fail_on_a_deleted_batch_norm(
        monkeypatch, pretrained_dir, two_real_files):
    checkpoint = pretrained_dir / 'xsub.pdparams'
    cpu = published_logits(checkpoint, two_real_files, 'cpu')
    gpu = emulated_gpu(monkeypatch)
    tf32 = published_logits(checkpoint, two_real_files, 'gpu:0', tf32=True)
    assert gpu.rounded_calls > 0
    assert precision.judge(tf32, cpu, tf32=True)[0]
    assert not precision.judge(tf32, cpu, tf32=False)[0]   # why TF32 needs its own judgment

    calls = gpu.rounded_calls
    full = published_logits(checkpoint, two_real_files, 'gpu:0', tf32=False)
    assert gpu.rounded_calls == calls   # set_tf32(False) turned both flags off
    assert precision.judge(full, cpu, tf32=False)[0]

    precision.set_tf32(True)
    delete_first_batch_norm(monkeypatch)
    broken = published_logits(checkpoint, two_real_files, 'gpu:0', tf32=True)
    passed, words = precision.judge(broken, cpu, tf32=True)
    assert not passed, words


def test_tf32_judgment_bounds_the_difference_and_the_clear_top1():
    reference = np.array([[10.0, 2.0, -3.0], [5.0, 4.99, 0.0]])
    allowed = precision.TF32_RELATIVE * 10.0
    near = reference + allowed / 2
    assert precision.judge(near, reference, tf32=True)[0]
    assert not precision.judge(reference + 2 * allowed, reference, tf32=True)[0]
    swapped = reference.copy()
    swapped[1] = [4.99, 5.0, 0.0]   # a near tie may swap under TF32
    passed, words = precision.judge(swapped, reference, tf32=True)
    assert passed and 'same top-1 on 1/1 clear samples' in words
    wrong = reference.copy()
    wrong[0] = [2.0, 10.0, -3.0]
    assert not precision.judge(wrong, reference, tf32=True)[0]
    assert not precision.judge(near, reference, tf32=False)[0]   # 0.05 > TIGHT


def test_children_run_with_tf32_off_through_their_environment(monkeypatch):
    monkeypatch.setenv('FLAGS_cudnn_allow_tf32', '1')
    off, on = precision.environment(tf32=False), precision.environment(tf32=True)
    assert off['FLAGS_cudnn_allow_tf32'] == off['FLAGS_cublas_allow_tf32'] == '0'
    assert off['NVIDIA_TF32_OVERRIDE'] == '0'
    assert not {'FLAGS_cudnn_allow_tf32', 'NVIDIA_TF32_OVERRIDE'} & set(on)
