"""infer.py --pose_file: pose-annotation pickles through exported models (the X-sub model on the
12 real files as a pickle, a 2D COCO model with bad samples among good ones)."""
import json

import numpy as np
import pytest
import yaml

from dataset.inputs import build_inputs
from helpers import export, export_pretrained
from reader import write_synthetic_dataset
from test_infer import (RUNTIMES, assert_one_line_error, dygraph_logits, error_lines, infer,
                        logits_of, model_file_for, random_checkpoint)
from utils.config import load_config


# ---------------------------------------------------------------- pose-annotation files
@pytest.mark.slow
@pytest.mark.parametrize('config_id', ['2001', '3001'])
def test_xsub_on_a_pose_file_gives_what_it_gives_on_the_skeleton_files(
        exported_xsub, pretrained_dir, real_skeleton_dir, tmp_path, config_id):
    """The 12 real files as a 3D annotation pickle (its xsub_val split, then every sample)
    through the X-sub model exported with 2001 or 3001: the --skeleton logits, 1e-5."""
    from pose_files import write_ntu_annotations
    model_file = exported_xsub if config_id == '2001' else \
        export_pretrained(pretrained_dir, tmp_path, 'xsub', config_id)
    deploy = yaml.safe_load(model_file.with_suffix('.yml').read_text())
    assert (deploy['layout'], deploy['keypoint_dim'], deploy['max_frame']) == ('ntu', 3, 300)
    ann_file = write_ntu_annotations(real_skeleton_dir.glob('*.skeleton'), tmp_path / 'ntu.pkl')
    names = sorted(f.name.split('.')[0] for f in real_skeleton_dir.glob('*.skeleton'))
    runs = {'skeleton': ['--skeleton', real_skeleton_dir], 'pose': ['--pose_file', ann_file],
            'split': ['--pose_file', ann_file, '--split', 'xsub_val']}
    logits = {}
    for run, args in runs.items():
        output = tmp_path / f'{run}.json'
        result = infer(model_file, *args, '--output', output)
        assert result.returncode == 0, result.stderr
        logits[run] = json.loads(output.read_text())
    assert sorted(logits['pose']) == names and len(logits['split']) == 7
    for run in ('pose', 'split'):
        for name, entry in logits[run].items():
            np.testing.assert_allclose(entry['logits'], logits['skeleton'][name]['logits'],
                                       atol=1e-5, rtol=0)


@pytest.fixture(scope='module')
def small_2d_model(tmp_path_factory):
    """A random B0 on the COCO-17 layout, exported with the 2D demo's config."""
    folder = tmp_path_factory.mktemp('small_2d')
    cfg = load_config('1002')
    net, graph = random_checkpoint(cfg, folder / 'small2d.pdparams')
    return export(folder / 'small2d.pdparams', '1002'), net, graph


def test_a_2d_model_on_a_pose_file_reports_bad_samples_and_infers_the_others(
        small_2d_model, tmp_path):
    from pose_files import annotation_2d, annotation_3d, write_pickle
    from reader import pose_sample
    model_file, net, graph = small_2d_model
    good = [annotation_2d(f'clip{i}', i, persons=1 + i % 3, frames=20 + i, seed=i)
            for i in range(3)]
    bad = annotation_2d('broken', 0) | {'img_shape': (0, 0)}
    unlabelled = annotation_2d('unlabelled', 0) | {'label': None}
    ann_file = write_pickle(tmp_path / 'poses.pkl', good + [bad, unlabelled])
    output = tmp_path / 'out.json'
    max_frame = yaml.safe_load(model_file.with_suffix('.yml').read_text())['max_frame']
    for runtime in RUNTIMES:
        result = infer(model_file_for(runtime, model_file), '--pose_file', ann_file,
                       '--output', output)
        assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr
        errors = error_lines(result)
        assert len(errors) == 1 and 'broken' in errors[0] and 'img_shape' in errors[0]
        samples = [pose_sample(a, 17, 2, max_frame)[0] for a in good + [unlabelled]]
        inputs = np.stack([build_inputs(s, 'JVB', graph.connect_joint, graph.center,
                                        keypoint_dim=2) for s in samples])
        names = ['clip0', 'clip1', 'clip2', 'unlabelled']
        got, _ = logits_of(output, names)
        np.testing.assert_allclose(got, dygraph_logits(net, inputs), atol=1e-4, rtol=1e-4)
        assert 'Top-1 accuracy:' in result.stdout and '/3 (' in result.stdout   # 3 labelled
    three_d = write_pickle(tmp_path / '3d.pkl', [annotation_3d('a', 0)])
    assert_one_line_error(infer(model_file, '--pose_file', three_d), 'holds 3D keypoints',
                          'takes 2D poses (coco layout)')
    skeletons = write_synthetic_dataset(tmp_path / 'sk', actions=(1,), samples_per_action=1)
    assert_one_line_error(infer(model_file, '--skeleton', *skeletons), 'coco layout',
                          '--pose_file')
    assert_one_line_error(infer(model_file, '--pose_file', ann_file, '--split', 'val'),
                          'poses.pkl holds a list of annotations without splits')


def test_a_2d_export_from_before_scores_were_confidences_is_a_one_line_error(small_2d_model,
                                                                            tmp_path):
    """Its model took the score as a coordinate: today's 2D inputs would be silently wrong."""
    from pose_files import annotation_2d, write_pickle
    model_file = small_2d_model[0]
    deploy = yaml.safe_load(model_file.with_suffix('.yml').read_text())
    assert deploy['keypoint_dim'] == 2 and deploy.pop('score_channel') == 'confidence'
    old = tmp_path / 'old2d.json'
    old.write_bytes(model_file.read_bytes())
    (tmp_path / 'old2d.yml').write_text(yaml.safe_dump(deploy))
    ann_file = write_pickle(tmp_path / 'poses.pkl', [annotation_2d('clip', 0)])
    assert_one_line_error(infer(old, '--params_file', model_file.with_suffix('.pdiparams'),
                                '--pose_file', ann_file),
                          'old2d.yml', 'score as a coordinate', 'export it')
