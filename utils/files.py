"""Writing results so that a crash never leaves half a file."""
import json
import os
import pickle
from pathlib import Path

import yaml


def atomic_save(obj, path, saver):
    """Write through a temporary file then rename, so a crash never leaves a half file."""
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    saver(obj, str(tmp))
    os.replace(tmp, path)


def save_json(obj, path):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def save_pickle(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def atomic_write_bytes(content, path):
    """atomic_save for bytes already in memory."""
    atomic_save(content, path, lambda data, name: Path(name).write_bytes(data))


def save_yaml(obj, path):
    """A mapping as YAML, in its own key order."""
    with open(path, 'w') as f:
        yaml.safe_dump(obj, f, sort_keys=False)
