"""Eval scores reused across runs: -v on the same checkpoint and eval data takes the scores an
earlier run wrote (its eval_scores.pkl) instead of evaluating again. A run folder's
eval_scores.key.json records everything the scores depend on; a run whose key equals this run's
and whose scores cover every sample is reused."""
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np

from . import safe_pickle
from .errors import UserError

SCORES_NAME = 'eval_scores.pkl'
SCORES_KEY_NAME = 'eval_scores.key.json'

def _file_stamp(path):
    path = Path(path).resolve()
    stat = path.stat()
    return {'path': str(path), 'size': stat.st_size, 'mtime_ns': stat.st_mtime_ns}


def _sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def scores_key(cfg):
    """Everything the eval scores depend on; JSON-normalised so it compares with a loaded key."""
    from dataset import dataset_args_of, generated_data_folder
    dataset_args = dataset_args_of(cfg)
    folder = generated_data_folder(dataset_args, cfg['dataset'])
    key = {
        'checkpoint_sha256': _sha256(cfg['pretrained_path']),
        'eval_data': _file_stamp(folder / 'eval_data.npy'),
        'eval_label': _file_stamp(folder / 'eval_label.pkl'),
        'dataset': cfg['dataset'], 'model_type': cfg['model_type'], 'model_args': cfg['model_args'],
        'num_frame': dataset_args['num_frame'], 'inputs': dataset_args['inputs'],
        'debug': bool(cfg['debug']),
    }
    return json.loads(json.dumps(key))


def find_cached_scores(work_dir, key, feeder, num_class):
    """(path, scores) of the newest run under work_dir with the same key and complete scores."""
    keys = sorted(Path(work_dir).glob(f'*/*/{SCORES_KEY_NAME}'),
                  key=lambda p: p.stat().st_mtime_ns, reverse=True)
    names = feeder.names
    for key_path in keys:
        scores_path = key_path.with_name(SCORES_NAME)
        try:
            if json.loads(key_path.read_text()) != key:
                continue
            scores = safe_pickle.load(scores_path)
        except safe_pickle.ForbiddenName as e:
            raise UserError(f'{e.refusal(scores_path, "score cache")}; delete that run folder '
                            'to evaluate again') from None
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            continue   # a broken or half-written earlier run: evaluate instead
        if all(n in scores and np.shape(scores[n]) == (num_class,) for n in names):
            return scores_path, scores
    return None
