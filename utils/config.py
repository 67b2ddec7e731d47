"""Configs: `-c 2001` or a YAML path, loaded over the bases it names (`_base_`), every key at
every depth checked against the known entries (utils/config_schema.py), and `--set` overrides that
keep each entry's type."""
import difflib
from pathlib import Path

import yaml

from utils.config_schema import SCHEMA
from utils.errors import ConfigError

REPO_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_DIR / 'configs'
BASE_KEY = '_base_'   # a config's base(s): config IDs or YAML paths (relative to the config)
RUN_KEY = 'run'       # a run folder's record of how it ran (see runs.py); not a setting
RECORD_KEYS = ('config', RUN_KEY)   # what a saved config.yaml adds to the settings


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
    """The config's entries, merged over its bases, checked, in the schema's order, with
    `config` (the name it runs under: the file's name) last."""
    path = config_path(config)
    cfg = _resolve(path, chain=())
    cfg.pop(RUN_KEY, None)
    cfg.pop('config', None)
    cfg = ordered(cfg)
    cfg['config'] = path.stem
    return cfg


def _resolve(path, chain):
    """The file's entries merged over those of its bases (each resolved the same way, in the
    order named); `chain` holds the files that include this one, to catch a cycle."""
    path = Path(path).resolve()
    if path in chain:
        cycle = ' -> '.join(p.name for p in (*chain[chain.index(path):], path))
        raise ConfigError(f'config {chain[0]} has a cycle of bases: {cycle}')
    cfg = _read(path)
    check_keys(cfg, f'config {path}')
    merged = {}
    for base in _base_names(cfg.pop(BASE_KEY, None), path):
        merged = merge(merged, _resolve(_base_path(base, path), (*chain, path)))
    return merge(merged, cfg)


def _read(path):
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f'config {path} is not valid YAML: {str(e).splitlines()[0]}') from None
    if not isinstance(cfg, dict):
        raise ConfigError(f'config {path} must be a mapping of keys to values')
    return cfg


def _base_names(value, path):
    names = value if isinstance(value, list) else [] if value is None else [value]
    for name in names:
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise ConfigError(f'config {path}: {BASE_KEY} takes config IDs or YAML paths, '
                              f'got {name!r}')
    return names


def _base_path(base, including):
    """`2001` -> configs/2001.yaml; a path -> relative to the including config's folder, else
    to configs/ (so that a numbered config copied elsewhere still finds configs/_base_/)."""
    text = str(base)
    if Path(text).suffix in ('.yaml', '.yml'):
        path = including.parent / text
        if not path.is_file() and (CONFIG_DIR / text).is_file():
            path = CONFIG_DIR / text
    else:
        path = CONFIG_DIR / f'{text}.yaml'
    if not path.is_file():
        raise ConfigError(f'config {including}: its {BASE_KEY} {text} does not exist '
                          f'(no file {path})')
    return path


def merge(base, override):
    """base's entries with override's on top; sections (mappings) merge key by key, any other
    value (a list too) replaces the base's."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            value = merge(result[key], value)
        result[key] = value
    return result


def ordered(cfg, schema=SCHEMA):
    """The entries in the schema's order at every depth (a saved config.yaml reads the same
    whichever bases built it)."""
    return {key: ordered(cfg[key], schema[key]) if isinstance(cfg[key], dict) and schema[key]
            else cfg[key] for key in schema if key in cfg}


def check_keys(cfg, source, schema=SCHEMA, where=()):
    """Every key of cfg at every depth must be in the schema (`where`: the keys leading to
    cfg); the first that is not is a ConfigError naming its full path and the nearest known
    key. `source` says where cfg comes from (a file, --set)."""
    for key, value in cfg.items():
        if not where and key == BASE_KEY:
            continue
        path = (*where, key)
        section = _schema_entry(schema, path, source)
        if section is None or value is None or path == (RUN_KEY,):
            continue
        if not isinstance(value, dict):
            raise ConfigError(f'{_dotted(path)} in {source} must be a section of keys '
                              f'({", ".join(section)}), not {value!r}')
        check_keys(value, source, section, path)


def _schema_entry(schema, path, source):
    """The schema's entry for path[-1], where `schema` is that of the section path[:-1]."""
    *where, key = path
    if schema is None:
        raise ConfigError(f'unknown key {_dotted(path)} in {source}; {_dotted(where)} is not a '
                          f'section')
    if key not in schema:
        close = difflib.get_close_matches(str(key), list(map(str, schema)), n=1, cutoff=0.6)
        known = [str(k) for k in schema if where or k not in RECORD_KEYS]
        hint = (f'did you mean {close[0]}?' if close else
                f'{_dotted(where) or "the top level"} takes {", ".join(known)}')
        raise ConfigError(f'unknown key {_dotted(path)} in {source}; {hint}')
    return schema[key]


def _dotted(path):
    return '.'.join(map(str, path))


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
    """Set `a.b.c` in the nested config: a known key (sections it needs are made), keeping the
    type of the value it replaces."""
    keys = dotted_key.split('.')
    schema = SCHEMA
    for depth in range(len(keys)):
        schema = _schema_entry(schema, keys[:depth + 1], '--set')
    if isinstance(value, dict) and schema:
        check_keys(value, '--set', schema, tuple(keys))
    node = cfg
    for depth, key in enumerate(keys[:-1]):
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
        if not isinstance(node, dict):
            raise ConfigError(f'--set {dotted_key}: {_dotted(keys[:depth + 1])} is {node!r} '
                              f'in the config, not a section')
    old = node.get(keys[-1])
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
