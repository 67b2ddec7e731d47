"""Reading checkpoints into a model: Paddle's (the seed's dict with `model`, or a bare state
dict) and the official PyTorch ones (`.pth.tar`, read without PyTorch: torch_checkpoint.py)."""
import zipfile
from pathlib import Path

import paddle

from utils.errors import UserError

from .torch_checkpoint import is_torch_checkpoint, read_torch_checkpoint


def load_checkpoint(path):
    """The saved dict; a missing or unreadable file is a UserError naming it."""
    if not path:
        raise UserError('no checkpoint given: pass its path with -pp')
    if not Path(path).is_file():
        raise UserError(f'checkpoint {path} does not exist')
    if is_torch_checkpoint(path) or zipfile.is_zipfile(path):   # .pdparams are pickles
        return read_torch_checkpoint(path)
    try:
        checkpoint = paddle.load(str(path))
    except Exception as e:  # paddle raises many kinds on a corrupt file
        raise UserError(f'checkpoint {path} cannot be read ({type(e).__name__}); '
                        'it may be truncated or not a Paddle file') from None
    if not isinstance(checkpoint, dict):
        raise UserError(f'checkpoint {path} holds a {type(checkpoint).__name__}, not a dict')
    return checkpoint


def model_state_of(checkpoint):
    return checkpoint['model'] if isinstance(checkpoint.get('model'), dict) else checkpoint


def load_model_state(net, state, source):
    """Load `state` into `net` after checking every key and shape; the first mismatch is an error."""
    expected = net.state_dict()
    for key, value in expected.items():
        if key not in state:
            raise UserError(f'checkpoint {source} does not fit this config\'s model: '
                            f'missing key {key}')
        if list(state[key].shape) != list(value.shape):
            raise UserError(f'checkpoint {source} does not fit this config\'s model: key {key} has '
                            f'shape {list(state[key].shape)}, the model needs {list(value.shape)}')
    unexpected = [key for key in state if key not in expected]
    if unexpected:
        raise UserError(f'checkpoint {source} does not fit this config\'s model: '
                        f'unexpected key {unexpected[0]}')
    net.set_state_dict(state)
