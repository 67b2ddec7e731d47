"""The exported model's `<stem>.yml` (written by -ex beside the model file): everything needed
to prepare an input as in training, and what a sample must be to fit the model."""
from pathlib import Path

import yaml

import reader
from dataset import SCORE_CHANNEL

from .messages import InferError

DEPLOY_KEYS = ('params_file', 'inputs', 'num_frame', 'transform', 'num_class', 'input_shape',
               'connect_joint', 'class_names')
# Entries older exports lack: they were all of NTU .skeleton files (30 frames/s).
DEPLOY_DEFAULTS = {'layout': 'ntu', 'keypoint_dim': 3, 'max_frame': reader.sample.MAX_FRAME,
                   'center': 1, 'frame_rate': 30}


def read_deploy_config(model_file):
    """The `<stem>.yml` that -ex wrote beside the model file."""
    model_file = Path(model_file)
    if not model_file.is_file():
        raise InferError(f'model file {model_file} does not exist')
    path = model_file.with_suffix('.yml')
    if not path.is_file():
        raise InferError(f'inference config {path} does not exist: export with '
                         f'`python main.py -c ID -ex -pp CKPT`, which writes it beside the model')
    try:
        with open(path) as f:
            deploy = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise InferError(f'inference config {path} is not valid YAML: '
                         f'{str(e).splitlines()[0]}') from None
    missing = [key for key in DEPLOY_KEYS if not isinstance(deploy, dict) or key not in deploy]
    if missing:
        raise InferError(f'inference config {path} has no {missing[0]!r} entry: export again')
    if deploy.get('keypoint_dim') == 2 and deploy.get('score_channel') != SCORE_CHANNEL:
        raise InferError(f'{path} is of a 2D model trained with the keypoint score as a '
                         f'coordinate; 2D inputs now carry it as a confidence channel: train the '
                         f'model again, then export it')
    return {**DEPLOY_DEFAULTS, **deploy}


def is_onnx(model_file):
    return Path(model_file).suffix == '.onnx'


def params_path(model_file, params_file, deploy):
    """The weights file: params_file when given, else the .yml's beside the model; None for
    a .onnx model, which holds its weights."""
    if is_onnx(model_file):
        return None
    path = Path(params_file) if params_file else Path(model_file).parent / deploy['params_file']
    if not path.is_file():
        raise InferError(f'params file {path} does not exist')
    return path


def sample_fits(shape, deploy, short_clips=False):
    """A (C, T, V, M) sample fits with xyz, at least num_frame frames (training cuts the first
    num_frame; with short_clips any number, to be zero-padded) and the model's joints and
    bodies."""
    num_joint, num_body = deploy['input_shape'][-2:]
    if len(shape) != 4 or shape[0] != 3 or tuple(shape[2:]) != (num_joint, num_body):
        return False
    return shape[1] >= (1 if short_clips else deploy['num_frame'])


def needed_shape(deploy, any_length=False):
    num_joint, num_body = deploy['input_shape'][-2:]
    frames = 'T' if any_length else f'T >= {deploy["num_frame"]}'
    return f'3, {frames}, {num_joint}, {num_body}'


def check_sample_shape(shape, deploy, source):
    if not sample_fits(shape, deploy):
        raise InferError(f'{source}: a sample of shape {tuple(shape)} does not fit the model, '
                         f'which needs (C, T, V, M) = ({needed_shape(deploy)})')
