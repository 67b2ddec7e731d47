"""Configs: `-c 2001` or a YAML path, loaded, checked against the known keys, and `--set`
overrides that keep each entry's type."""
from pathlib import Path

import yaml

from utils.errors import ConfigError

REPO_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_DIR / 'configs'

# The keys a config file may hold (`config` is the name it was loaded under).
_TOP_LEVEL_KEYS = {
    'gpus', 'seed', 'debug', 'pretrained_path', 'work_dir', 'no_progress_bar',
    'visualization_class', 'visualization_sample', 'visualization_frames',
    'dataset', 'dataset_args', 'model_type', 'model_args', 'optimizer', 'optimizer_args',
    'lr_scheduler', 'scheduler_args', 'amp_level', 'config',
}


def config_path(config):
    """`-c 2001` -> configs/2001.yaml; `-c path/to/file.yaml` -> that file."""
    path = Path(config)
    if path.suffix in ('.yaml', '.yml'):
        if not path.is_file():
            raise ConfigError(f'config file {config} does not exist')
        return path
    path = CONFIG_DIR / f'{config}.yaml'
    if not path.is_file():
        known = ', '.join(sorted(p.stem for p in CONFIG_DIR.glob('*.yaml')))
        raise ConfigError(f'no config with ID {config!r} in {CONFIG_DIR} (known IDs: {known})')
    return path


def load_config(config):
    path = config_path(config)
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f'config {path} is not valid YAML: {str(e).splitlines()[0]}') from None
    if not isinstance(cfg, dict):
        raise ConfigError(f'config {path} must be a mapping of keys to values')
    unknown = sorted(set(cfg) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f'unknown key {unknown[0]!r} in config {path}')
    cfg['config'] = path.stem
    return cfg


def _same_kind(old, new):
    """A value may replace another of the same type (int for float allowed; None is untyped)."""
    if old is None or new is None:
        return True
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return not (isinstance(old, int) and isinstance(new, float))
    return type(old) is type(new)


def set_value(cfg, dotted_key, value):
    """Set `a.b.c` in the nested config; the key must exist and keep its type."""
    keys = dotted_key.split('.')
    node = cfg
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = '.'.join(keys[:depth]) or 'the top level'
            raise ConfigError(f'unknown config key {dotted_key!r} (no {key!r} under {where})')
        if depth < len(keys) - 1:
            node = node[key]
    old = node[keys[-1]]
    if not _same_kind(old, value):
        raise ConfigError(f'config key {dotted_key!r} takes a {type(old).__name__}, '
                          f'got {value!r} ({type(value).__name__})')
    node[keys[-1]] = value


def apply_overrides(cfg, assignments):
    """`--set key.sub=value` entries; values are parsed as YAML (`[0,1]`, `True`, `0.01`)."""
    for assignment in assignments or []:
        key, sep, text = assignment.partition('=')
        if not sep or not key:
            raise ConfigError(f'--set {assignment!r} must look like key.sub=value')
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f'--set {assignment!r}: the value is not valid YAML') from None
        set_value(cfg, key.strip(), value)
    return cfg
