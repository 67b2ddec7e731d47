
import pytest
import yaml

from helpers import run_main
from utils.config import REPO_DIR, apply_overrides, load_config
from utils.errors import ConfigError
from main import build_parser, resolve_config


def resolve(argv):
    return resolve_config(build_parser().parse_args(argv))


def test_every_official_config_loads():
    for config_id in range(2001, 2025):
        cfg = load_config(str(config_id))
        group = (config_id - 2001) % 4
        assert cfg['dataset'] == ['ntu-xsub', 'ntu-xview', 'ntu-xsub120', 'ntu-xset120'][group]
        assert cfg['dataset_args']['ntu']['transform'] == (group == 1)
        assert cfg['model_args']['layer_type'] == ('SG' if config_id <= 2012 else 'Sep')
        assert cfg['model_type'][-1] == '024'[(config_id - 2001) % 12 // 4]


def test_config_by_path(tmp_path):
    cfg = resolve(['-c', str(REPO_DIR / 'configs' / '2002.yaml')])
    assert cfg['dataset'] == 'ntu-xview'


def test_set_overrides_nested_values_parsed_as_yaml():
    cfg = resolve(['-c', '2001', '--set', 'dataset_args.ntu.root_folder=/data/ntu',
                   '--set', 'model_args.kernel_size=[3,2]', '--set', 'seed=7'])
    assert cfg['dataset_args']['ntu']['root_folder'] == '/data/ntu'
    assert cfg['model_args']['kernel_size'] == [3, 2]
    assert cfg['seed'] == 7


def test_flags_override_config():
    cfg = resolve(['-c', '2001', '-g', '-s', '3', '-mt', 'EfficientGCN-B2', '-db', '-np'])
    assert cfg['gpus'] == [] and cfg['seed'] == 3 and cfg['model_type'] == 'EfficientGCN-B2'
    assert cfg['debug'] is True and cfg['no_progress_bar'] is True


@pytest.mark.parametrize('assignment,message', [
    ('nope=1', 'unknown key nope in --set; the top level takes gpus, seed,'),
    ('model_args.depth=3', 'unknown key model_args.depth in --set; model_args takes stem_'),
    ('optimizer_args.Momentum.nestrov=True',
     r'^unknown key optimizer_args.Momentum.nestrov in --set; did you mean nesterov\?$'),
    ('scheduler_args.cosine.min_lr=0.001',
     '^unknown key scheduler_args.cosine.min_lr in --set; scheduler_args.cosine takes '
     'max_epoch, warm_up$'),
    ('seed.low=1', 'unknown key seed.low in --set; seed is not a section'),
    ('model_args={layer_type: Sep, layers: 3}',
     'unknown key model_args.layers in --set; did you mean layer_type'),
    ('seed=abc', "'seed' takes a int"),
    ('debug=1', "'debug' takes a bool"),
    ('seed', 'must look like key.sub=value'),
])
def test_bad_overrides_are_clear_errors(assignment, message):
    cfg = load_config('2001')
    with pytest.raises(ConfigError, match=message):
        apply_overrides(cfg, [assignment])


@pytest.mark.parametrize('argv,message', [
    (['-c', '9999'], "no config with ID '9999'"),
    (['-c', '2001', '--set', 'model_args.nope=1'], 'unknown key model_args.nope in --set'),
    (['-c', '2001', '--set', 'dataset_args.ntu.num_frame=[1]'], 'takes a int'),
    (['-c', 'missing.yaml'], 'missing.yaml does not exist'),
])
def test_config_errors_exit_nonzero_with_one_line(argv, message):
    result = run_main(*argv)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and 'Traceback' not in result.stderr


COPIED_2001 = (REPO_DIR / 'tests' / 'fixtures' / 'config_snapshot.json')


@pytest.mark.parametrize('entries,message', [
    ({'optimizer_args': {'Momentum': {'nestrov': True}}},
     'unknown key optimizer_args.Momentum.nestrov in config {path}; did you mean nesterov?'),
    ({'scheduler_args': {'cosine': {'min_lr': 0.001}}},
     'unknown key scheduler_args.cosine.min_lr in config {path}; scheduler_args.cosine takes '
     'max_epoch, warm_up'),
    ({'learning_rate': 1},
     'unknown key learning_rate in config {path}; the top level takes gpus, seed, debug,'),
    ({'dataset_args': {'ntu': {'synthetic': {'sample_per_action': 3}}}},
     'unknown key dataset_args.ntu.synthetic.sample_per_action in config {path}; '
     'did you mean samples_per_action?'),
    ({'model_args': 3}, 'model_args in config {path} must be a section of keys (stem_channel,'),
])
@pytest.mark.parametrize('written', ['a full copy', 'over a base'])
def test_an_unknown_key_at_any_depth_is_one_line(tmp_path, entries, message, written):
    """Unknown keys (typos such as nestrov, entries a config cannot hold), in a copied config
    and in one written over 2001, are one line naming the key's full path and the nearest
    known key (or the keys there)."""
    import json
    from utils.config import merge
    path = tmp_path / 'my.yaml'
    if written == 'a full copy':
        cfg = merge(json.loads(COPIED_2001.read_text())['2001'], entries)
    else:
        cfg = {'_base_': 2001, **entries}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    result = run_main('-c', str(path), '-pf')
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith('error: ' + message.format(path=path)), result.stderr


POSE_CONFIGS = {   # config -> (split prefix, layout, keypoint_dim, classes, transform)
    '3001': ('xsub', 'ntu', 3, 60, False), '3002': ('xview', 'ntu', 3, 60, True),
    '3003': ('xsub', 'ntu', 3, 120, False), '3004': ('xset', 'ntu', 3, 120, False),
    '3005': ('xsub', 'coco', 2, 60, False), '3006': ('xview', 'coco', 2, 60, False),
    '3007': ('xsub', 'coco', 2, 120, False), '3008': ('xset', 'coco', 2, 120, False),
}


@pytest.mark.parametrize('config_id', sorted(POSE_CONFIGS))
def test_pose_annotation_configs(config_id):
    """3001-3008: B0 as 2001 on pyskl's annotation files; the dataset is described by entries."""
    from dataset import class_names, dataset_info, input_format
    split, layout, keypoint_dim, classes, transform = POSE_CONFIGS[config_id]
    cfg = load_config(config_id)
    reference = load_config('2001')
    assert cfg['dataset'].startswith('pose-')
    assert cfg['model_args'] == reference['model_args'] and cfg['model_type'] == 'EfficientGCN-B0'
    args = cfg['dataset_args']['pose']
    assert (args['train_split'], args['eval_split']) == (f'{split}_train', f'{split}_val')
    assert (args['layout'], args['keypoint_dim'], args['num_class']) == (layout, keypoint_dim,
                                                                          classes)
    assert args['transform'] == transform and args['max_frame'] == 300
    expected_file = f'ntu{classes}_{"3danno" if keypoint_dim == 3 else "hrnet"}.pkl'
    assert args['ann_file'].endswith(expected_file)
    num_class, _, data_shape = dataset_info(cfg['dataset'], cfg['dataset_args'])
    assert num_class == classes and data_shape == [3, 6, 288, 25 if layout == 'ntu' else 17, 2]
    names = class_names(cfg['dataset'], cfg['dataset_args'], num_class)
    assert len(names) == classes and names[0] == 'drink water'
    assert input_format(cfg['dataset'], cfg['dataset_args'])['keypoint_dim'] == keypoint_dim


def test_pose_dataset_entries_are_checked_and_class_names_read_from_a_file(tmp_path):
    from dataset import class_names, dataset_info
    cfg = load_config('1002')
    names = tmp_path / 'names.txt'
    names.write_text('\n'.join(f'action {i}' for i in range(10)) + '\n\n')
    cfg = apply_overrides(cfg, [f'dataset_args.pose.class_names={names}'])
    assert class_names(cfg['dataset'], cfg['dataset_args'], 10)[9] == 'action 9'
    with pytest.raises(ConfigError, match='names 10 classes but num_class is 12'):
        class_names(cfg['dataset'], cfg['dataset_args'], 12)
    cfg['dataset_args']['pose']['class_names'] = None
    assert class_names(cfg['dataset'], cfg['dataset_args'], 3) == ['class 0', 'class 1', 'class 2']
    for key, value, message in [('num_class', 0, 'num_class is 0'),
                                ('keypoint_dim', 4, 'give 2 or 3'),
                                ('layout', 'hands', "layout is 'hands'"),
                                ('max_frame', 'all', 'max_frame')]:
        bad = load_config('1002')
        bad['dataset_args']['pose'][key] = value
        with pytest.raises(ConfigError, match=message):
            dataset_info(bad['dataset'], bad['dataset_args'])


SNAPSHOT = REPO_DIR / 'tests' / 'fixtures' / 'config_snapshot.json'


def _entries(value, path=''):
    """(dotted path, type, value) of every leaf in order, so that 1, 1.0 and True differ, key
    order counts, and a failure names the entry."""
    if isinstance(value, dict):
        return [(path, 'dict', len(value))] + [entry for key, item in value.items()
                                               for entry in _entries(item, f'{path}.{key}')]
    if isinstance(value, list):
        return [(path, 'list', len(value))] + [entry for i, item in enumerate(value)
                                               for entry in _entries(item, f'{path}[{i}]')]
    return [(path, type(value).__name__, value)]


def test_numbered_configs_resolve_to_the_snapshot():
    """Each numbered config resolves to exactly the entries, types and order it had as a full
    copy (tests/fixtures/make_config_snapshot.py recorded those)."""
    import json
    snapshot = json.loads(SNAPSHOT.read_text())
    assert len(snapshot) == 34
    for name, entries in snapshot.items():
        assert _entries(load_config(name)) == _entries(entries), f'config {name}'


def test_a_config_over_a_base_overrides_only_what_differs(tmp_path):
    """Sections merge key by key; lists and values replace; a base is an ID or a path relative
    to the config naming it; several bases merge in order, the config last."""
    (tmp_path / 'bases').mkdir()
    (tmp_path / 'bases' / 'short.yaml').write_text(
        'scheduler_args: {cosine: {max_epoch: 5, warm_up: 1}}\nmodel_args: {kernel_size: [3,2]}\n')
    path = tmp_path / 'mine.yaml'
    path.write_text('_base_: [2013, bases/short.yaml]\n'
                    'optimizer_args: {Momentum: {lr: 0.05}}\nmodel_args: {kernel_size: [7,2]}\n')
    cfg, reference = load_config(str(path)), load_config('2013')
    assert cfg['config'] == 'mine'
    assert cfg['optimizer_args']['Momentum'] == {**reference['optimizer_args']['Momentum'],
                                                 'lr': 0.05}
    assert cfg['scheduler_args']['cosine'] == {'max_epoch': 5, 'warm_up': 1}
    assert cfg['model_args'] == {**reference['model_args'], 'kernel_size': [7, 2]}
    assert cfg['scheduler_args']['step'] == reference['scheduler_args']['step']
    assert list(cfg) == list(reference)   # the schema's order, whatever built it
    assert cfg['dataset_args'] == reference['dataset_args'] and cfg['gpus'] == [0]


@pytest.mark.parametrize('files,message', [
    ({'a.yaml': '_base_: b.yaml\nseed: 2\n', 'b.yaml': '_base_: c.yaml\n',
      'c.yaml': '_base_: a.yaml\n'},
     'config {dir}/a.yaml has a cycle of bases: a.yaml -> b.yaml -> c.yaml -> a.yaml'),
    ({'a.yaml': '_base_: a.yaml\n'}, 'config {dir}/a.yaml has a cycle of bases: a.yaml -> a.yaml'),
    ({'a.yaml': '_base_: [2001, bases/missing.yaml]\n'},
     'config {dir}/a.yaml: its _base_ bases/missing.yaml does not exist (no file '
     '{dir}/bases/missing.yaml)'),
    ({'a.yaml': '_base_: 2999\n'}, 'config {dir}/a.yaml: its _base_ 2999 does not exist (no file '),
    ({'a.yaml': '_base_: b.yaml\n', 'b.yaml': 'model_args: {nope: 1}\n'},
     'unknown key model_args.nope in config {dir}/b.yaml; model_args takes stem_channel'),
])
def test_a_cycle_or_a_missing_base_is_one_line(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = run_main('-c', str(tmp_path / 'a.yaml'), '-pf')
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith('error: ' + message.format(dir=tmp_path)), result.stderr


def test_a_numbered_config_copied_elsewhere_finds_its_bases(tmp_path):
    """configs/2014.yaml names _base_/epsep.yaml; a copy of it in another folder finds that
    base in configs/."""
    copy = tmp_path / 'mine.yaml'
    copy.write_text((REPO_DIR / 'configs' / '2014.yaml').read_text())
    assert {**load_config(str(copy)), 'config': '2014'} == load_config('2014')


def test_a_run_folders_config_yaml_loads_as_the_config_it_ran(tmp_path):
    """A saved config.yaml (resolved, with its `run:` record) given to -c: the record is
    dropped, the entries are the run's."""
    saved = {**load_config('1001'), 'run': {'command': 'main.py -c 1001', 'seed': 1}}
    path = tmp_path / 'config.yaml'
    path.write_text(yaml.safe_dump(saved, sort_keys=False))
    cfg = resolve(['-c', str(path)])
    assert 'run' not in cfg and cfg['config'] == 'config'
    assert {**cfg, 'config': '1001'} == load_config('1001')


def test_the_schema_is_what_the_code_reads():
    """The scheduler and synthetic-data sections are their readers' arguments; every model_args
    entry is needed to build a model of some layer type."""
    import inspect

    import scheduler
    from utils.config_schema import SCHEMA
    from reader.synthetic import write_synthetic_dataset
    from reader.synthetic_pose import write_synthetic_annotations

    def arguments(function, skip):
        return [p for p in inspect.signature(function).parameters if p not in skip]

    for name, schedule in scheduler.SCHEDULES.items():
        assert list(SCHEMA['scheduler_args'][name]) == arguments(
            schedule, ('iters_per_epoch', 'kwargs'))
    assert set(SCHEMA['scheduler_args']) == set(scheduler.SCHEDULES)
    args = SCHEMA['dataset_args']
    assert list(args['ntu']['synthetic']) == arguments(write_synthetic_dataset, ('folder',))
    assert list(args['pose']['synthetic']) == arguments(write_synthetic_annotations, ('path',))

    from initializer import build_model
    for layer_type in ('SG', 'Sep'):
        cfg = load_config('2001' if layer_type == 'SG' else '2013')
        needed = set()
        for key in SCHEMA['model_args']:
            trial = {**cfg, 'model_args': {k: v for k, v in cfg['model_args'].items() if k != key}}
            try:
                build_model(trial)
            except ConfigError:
                needed.add(key)
        if layer_type == 'SG':
            assert needed == set(SCHEMA['model_args']) - {'expand_ratio'}
        else:
            assert 'expand_ratio' in needed


def test_the_readmes_config_over_a_base(tmp_path):
    """docs/training.md, Writing a config: the example written over 2001 loads as it says."""
    section = (REPO_DIR / 'docs' / 'training.md').read_text().split('### Writing a config')[1]
    example = section.split('```yaml config\n')[1].split('```')[0]
    (tmp_path / 'my.yaml').write_text(example)
    cfg, reference = load_config(str(tmp_path / 'my.yaml')), load_config('2001')
    assert cfg['model_type'] == 'EfficientGCN-B2' and cfg['config'] == 'my'
    assert cfg['optimizer_args']['Momentum'] == {**reference['optimizer_args']['Momentum'],
                                                 'lr': 0.05}
    assert cfg['scheduler_args']['cosine'] == {'max_epoch': 90, 'warm_up': 10}
    assert {k: v for k, v in cfg.items() if k not in ('model_type', 'optimizer_args',
                                                      'scheduler_args', 'config')} == \
        {k: v for k, v in reference.items() if k not in ('model_type', 'optimizer_args',
                                                         'scheduler_args', 'config')}
