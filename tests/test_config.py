
import pytest

from commands import run_main
from config import REPO_DIR, apply_overrides, load_config
from errors import ConfigError
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
    ('nope=1', "unknown config key 'nope'"),
    ('model_args.depth=3', "unknown config key 'model_args.depth'"),
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
    (['-c', '2001', '--set', 'model_args.nope=1'], "unknown config key 'model_args.nope'"),
    (['-c', '2001', '--set', 'dataset_args.ntu.num_frame=[1]'], 'takes a int'),
    (['-c', 'missing.yaml'], 'missing.yaml does not exist'),
])
def test_config_errors_exit_nonzero_with_one_line(argv, message):
    result = run_main(*argv)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and 'Traceback' not in result.stderr


def test_unknown_top_level_key_in_a_yaml_file(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text((REPO_DIR / 'configs' / '2001.yaml').read_text() + '\nlearning_rate: 1\n')
    with pytest.raises(ConfigError, match="unknown key 'learning_rate'"):
        load_config(str(path))
