"""Every checkpoint form -pp reads goes through -e, -v and fine-tuning: the authors' PyTorch
`.pth.tar` (tests/fixtures/tiny_official.pth.tar, written by torch itself), the published
checkpoints' Paddle layout, this repository's best.pdparams, other ports' bare state and (name,
array) pairs; all hold the same tiny model's weights, so each mode gives the same figures. -ex
reads -pp as -e does (Processor.load_pretrained) and is run end to end on the authors' file: it
writes a model that infer.py runs to -e's logits; each form's exported files are named by
export_stem."""
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from fake_data import write_generated_split
from helpers import run_main, run_python, tiny_config
from utils.config import apply_overrides

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
AUTHORS_FILE = FIXTURES / 'tiny_official.pth.tar'
sys.path.insert(0, str(FIXTURES))
import make_torch_checkpoint as fixture  # noqa: E402

RECORD = {'acc_top1': 0.8987, 'acc_top5': 0.9856, 'cm': np.eye(60, dtype=np.int64)}
FORMS = ('authors.pth.tar', 'published.pdparams', 'best.pdparams', 'port.pdparams.tar',
         'pairs.pth')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """Eval data for the tiny model (60 classes) and train data for a 120-class fine-tuning."""
    root = tmp_path_factory.mktemp('forms_data')
    write_generated_split(root / 'original' / 'ntu-xsub', 'eval', [i % 4 for i in range(6)],
                          frames=40)
    write_generated_split(root / 'original' / 'ntu-xsub120', 'train', [i % 4 for i in range(4)],
                          frames=40)
    write_generated_split(root / 'original' / 'ntu-xsub120', 'eval', [i % 4 for i in range(4)],
                          frames=40, seed=1)
    return root


def tiny_state():
    """The authors' file's weights in Paddle's names (numpy), as the tiny model holds them."""
    from initializer import build_model
    from model.checkpoint import load_checkpoint, load_model_state, model_state_of
    net = build_model(fixture.tiny_config())[0]
    load_model_state(net, model_state_of(load_checkpoint(AUTHORS_FILE)), AUTHORS_FILE)
    return {key: value.numpy() for key, value in net.state_dict().items()}


def write_form(name, folder):
    """The tiny model's weights in the form `name`, laid out as its writers lay it out."""
    path = folder / name
    if name == 'authors.pth.tar':
        path.symlink_to(AUTHORS_FILE)   # -ex writes beside it, so not into fixtures/
        return path
    state = tiny_state()
    content = {'published.pdparams': lambda: {'model': state, 'opt': {}, 'epoch': 66,
                                              'best_state': RECORD, 'scheduler': {}},
               'best.pdparams': lambda: {'model': state, 'best_state': {**RECORD, 'epoch': 66}},
               'port.pdparams.tar': lambda: state,
               'pairs.pth': lambda: list(state.items())}[name]()
    if name == 'pairs.pth':
        path.write_bytes(pickle.dumps(content, protocol=2))
    else:
        paddle.save(content, str(path))
    return path


def tiny_cfg(root, work, checkpoint, *overrides):
    cfg = tiny_config(fixture.tiny_config(), root, work)
    return apply_overrides(cfg, [f'pretrained_path={checkpoint}', *overrides])


@pytest.fixture(scope='module')
def authors_scores(data_root, tmp_path_factory):
    """-e of the authors' file (in-process): the eval logits every form must give."""
    from processor import Processor
    work = tmp_path_factory.mktemp('authors_e')
    return Processor(tiny_cfg(data_root, work, AUTHORS_FILE)).evaluate()[1]


@pytest.mark.slow
@pytest.mark.parametrize('form', FORMS)
def test_every_form_evaluates_visualises_and_fine_tunes(form, data_root, authors_scores, tmp_path):
    from processor import Processor
    checkpoint = write_form(form, tmp_path)
    cfg = tiny_cfg(data_root, tmp_path / 'work', checkpoint)
    results, scores = Processor(cfg).evaluate()                                    # -e
    assert sorted(scores) == sorted(authors_scores) and results['num_samples'] == 6
    for name, logits in scores.items():
        np.testing.assert_array_equal(logits, authors_scores[name], err_msg=name)
    pictures = Processor(cfg).visualize()                                          # -v
    assert {'confusion_matrix.png', 'misclassified.csv'} <= {Path(p).name for p in pictures}
    fine = Processor(tiny_cfg(data_root, tmp_path / 'fine', checkpoint, 'dataset=ntu-xsub120',
                              'scheduler_args.cosine.max_epoch=1',
                              'scheduler_args.cosine.warm_up=0'))
    fine.train()                                                                   # fine-tuning
    log = (fine.run_dir / 'log.txt').read_text()
    assert "the checkpoint's classifier is for 60 classes, this config has 120" in log
    assert 'Finished training' in log


@pytest.mark.parametrize('form,stem', [('authors.pth.tar', 'authors'),
                                       ('published.pdparams', 'published'),
                                       ('best.pdparams', 'best'), ('port.pdparams.tar', 'port'),
                                       ('pairs.pth', 'pairs'), ('run.v2.pdparams', 'run.v2')])
def test_each_forms_exported_files_start_with_its_name_less_its_checkpoint_suffix(form, stem):
    from exporter.program import export_stem
    assert export_stem(Path('/models') / form) == Path('/models') / stem


@pytest.mark.slow
def test_the_authors_file_exports_to_a_model_infer_runs_to_the_logits_of_e(data_root, tmp_path):
    """main.py -c CONFIG -ex -pp off.pth.tar (the authors' layout) writes off.json, .pdiparams
    and .yml; infer.py on the eval arrays gives -e's logits, and -e logs the model profile."""
    checkpoint = tmp_path / 'off.pth.tar'
    checkpoint.symlink_to(AUTHORS_FILE)
    config = tmp_path / 'tiny.yaml'
    config.write_text(yaml.safe_dump(tiny_config(fixture.tiny_config(), data_root,
                                                 tmp_path / 'work')))
    exported = run_main('-c', config, '-ex', '-pp', checkpoint, '-np')
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob('off.*')) == [
        'off.json', 'off.onnx', 'off.pdiparams', 'off.pth.tar', 'off.yml']
    evaluated = run_main('-c', config, '-e', '-pp', checkpoint, '-np')
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert 'Model: ' in evaluated.stdout and 'M trainable parameters' in evaluated.stdout
    run_dir = next((tmp_path / 'work').glob('*/*/eval_scores.pkl')).parent
    scores = pickle.loads((run_dir / 'eval_scores.pkl').read_bytes())
    eval_data = data_root / 'original' / 'ntu-xsub' / 'eval_data.npy'
    for model_file in ('off.json', 'off.onnx'):
        inferred = run_python('infer.py', '--model_file', tmp_path / model_file, '--data_file',
                              eval_data, '--label_file', eval_data.with_name('eval_label.pkl'),
                              '--output', tmp_path / 'out.json')
        assert inferred.returncode == 0, inferred.stderr[-3000:]
        output = json.loads((tmp_path / 'out.json').read_text())
        assert sorted(output) == sorted(scores)
        for name, entry in output.items():
            np.testing.assert_allclose(entry['logits'], scores[name], rtol=0, atol=1e-4,
                                       err_msg=f'{model_file} {name}')
