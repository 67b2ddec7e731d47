"""The official PyTorch checkpoints (.pth.tar) wherever -pp takes a checkpoint, read without
PyTorch; a checkpoint that does not fit the config names the configs it fits."""
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from commands import run_main, run_python

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
sys.path.insert(0, str(FIXTURES))
import make_torch_checkpoint as fixture  # noqa: E402

WITHOUT_TORCH = "import sys; sys.modules['torch'] = None; "   # any `import torch` now fails


def test_a_file_pytorch_wrote_loads_without_pytorch_and_gives_its_models_logits():
    """In a process where torch cannot be imported: the state in Paddle's names, and the
    logits of the Paddle model the file was written from within 1e-5."""
    code = WITHOUT_TORCH + (
        f'sys.path[:0] = [{str(FIXTURES)!r}]; '
        'import numpy as np, paddle, make_torch_checkpoint as f; '
        'from initializer import build_model; '
        'from model.checkpoint import load_checkpoint, load_model_state, model_state_of; '
        f'c = load_checkpoint({str(FIXTURES / "tiny_official.pth.tar")!r}); '
        'net = build_model(f.tiny_config())[0]; '
        'load_model_state(net, model_state_of(c), "fixture"); net.eval(); '
        'print(c["epoch"], c["best_state"]["epoch"]); '
        'np.save(sys.argv[1], net(paddle.to_tensor(f.fixed_input()))[0].numpy())')
    out = FIXTURES.parent.parent / 'tmp_torch_fixture_logits.npy'
    try:
        result = run_python('-c', code, out)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.split()[-2:] == ['3', '3']
        expected = np.load(FIXTURES / 'tiny_official_logits.npy')
        np.testing.assert_allclose(np.load(out), expected, rtol=0, atol=1e-5)
        assert np.abs(expected).max() > 0.5
    finally:
        out.unlink(missing_ok=True)


def test_the_batch_norm_names_become_paddles():
    from model.torch_checkpoint import read_torch_checkpoint
    state = read_torch_checkpoint(FIXTURES / 'tiny_official.pth.tar')['model']
    assert not any(k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))
                   for k in state)
    assert 'input_branches.0.init_bn._mean' in state and state['classifier.fc.weight'].ndim == 5


def test_a_misfit_checkpoint_names_what_it_is_and_the_configs_that_fit(tmp_path,
                                                                       pretrained_dir):
    result = run_main('-c', '2005', '-e', '-pp', pretrained_dir / 'xsub.pdparams',
                      '--set', f'dataset_args.ntu.root_folder={tmp_path}')
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, result.stderr
    assert 'does not fit' in errors[0]
    assert 'EfficientGCN-B0 with SG layers, 60 classes: configs 2001, 2002, 3001, 3002 fit' \
        in errors[0]


def test_old_format_and_corrupt_files_are_one_line_errors(tmp_path):
    legacy = tmp_path / 'legacy.pth.tar'   # not a zip: PyTorch's older format
    legacy.write_bytes(pickle.dumps({'model': {}}))
    corrupt = tmp_path / 'corrupt.pth.tar'
    corrupt.write_bytes(b'PK\x03\x04 not really a zip')
    for path, fragment in ((legacy, 'pip install torch'), (corrupt, 'cannot be read')):
        code = WITHOUT_TORCH + ('import main; sys.exit(main.main(["-c", "2001", "-e", "-pp", '
                                f'{str(path)!r}]))')
        result = run_python('-c', code)
        assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
        assert len(errors) == 1 and fragment in errors[0] and path.name in errors[0], errors


def test_published_xsub_in_the_official_layout_evaluates_to_the_published_logits(
        tmp_path, pretrained_dir, real_skeleton_dir):
    """The published X-sub weights written as the official code writes them (torch.save; this
    test needs PyTorch to write the file, not to read it): -e on the 12 real files gives the
    logits of the published Paddle checkpoint within 1e-4."""
    pytest.importorskip('torch', reason='writing the official-layout file needs PyTorch')
    import generator
    from utils.config import load_config
    from model.checkpoint import load_checkpoint, model_state_of
    official = tmp_path / 'xsub.pth.tar'
    fixture.save_official(model_state_of(load_checkpoint(pretrained_dir / 'xsub.pdparams')),
                          official)
    cfg = load_config('2001')
    cfg['dataset_args']['ntu'].update(root_folder=str(tmp_path / 'npy'),
                                      ntu60_path=str(real_skeleton_dir))
    generator.generate(cfg, progress=False)
    scores = {}
    for name, checkpoint in (('official', official),
                             ('paddle', pretrained_dir / 'xsub.pdparams')):
        work = tmp_path / name
        result = run_main('-c', '2001', '-e', '-np', '-g', '-pp', checkpoint, '-w', work,
                          '--set', f'dataset_args.ntu.root_folder={tmp_path / "npy"}')
        assert result.returncode == 0, result.stderr[-3000:]
        assert 'Top-1 accuracy: 6/7(' in result.stdout
        with open(next(work.glob('*/*/eval_scores.pkl')), 'rb') as f:
            scores[name] = pickle.load(f)
    assert scores['official'].keys() == scores['paddle'].keys() and len(scores['paddle']) == 7
    for sample, logits in scores['paddle'].items():
        np.testing.assert_allclose(scores['official'][sample], logits, rtol=0, atol=1e-4)
