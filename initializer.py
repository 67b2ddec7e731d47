"""Builds what a run needs from the config: model (and later data, optimizer, scheduler)."""
import paddle

import model as model_zoo
from dataset import dataset_info
from utils import ConfigError


def build_model(cfg):
    """The config's EfficientGCN for its dataset; returns (model, graph, data_shape, num_class)."""
    num_class, graph, data_shape = dataset_info(cfg['dataset'], cfg['dataset_args'])
    model_args = dict(cfg['model_args'])
    try:
        net = model_zoo.create(
            cfg['model_type'], model_args.pop('act_type'), model_args.pop('block_args'),
            model_args.pop('scale_args'), data_shape=data_shape, num_class=num_class,
            A=paddle.to_tensor(graph.A, dtype='float32'), parts=graph.parts, **model_args)
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f'model_args of config {cfg.get("config")} do not build a model: {e}') from None
    return net, graph, data_shape, num_class
