"""Datasets the configs can name, with what the model needs to know about each (no paddle)."""
from pathlib import Path

from .graphs import Graph

# name -> number of action classes; the skeleton layout is the name's prefix (see graphs.py).
NUM_CLASSES = {
    'ntu-xsub': 60,
    'ntu-xview': 60,
    'ntu-xsub120': 120,
    'ntu-xset120': 120,
}
NUM_CHANNELS = 6   # every input branch (J, V or B) has 6 channels
NUM_PERSONS = 2


def _section(dataset, dataset_args):
    """The entry of dataset_args for the dataset's layout (dataset_args.ntu for ntu-xsub)."""
    from errors import ConfigError
    layout = dataset.split('-')[0]
    if layout not in dataset_args:
        raise ConfigError(f'dataset_args has no {layout!r} entry for {dataset}')
    return dataset_args[layout]


def dataset_args_of(cfg):
    """The config's settings for its dataset, e.g. cfg['dataset_args']['ntu']."""
    return _section(cfg['dataset'], cfg['dataset_args'])


def dataset_info(dataset, dataset_args):
    """num_class, graph and data_shape [I, C, T, V, M] of a config's dataset."""
    from errors import ConfigError
    if dataset not in NUM_CLASSES:
        raise ConfigError(f'unknown dataset {dataset!r}; choose one of {", ".join(NUM_CLASSES)}')
    args = _section(dataset, dataset_args)
    graph = Graph(dataset)
    inputs = args['inputs']
    if not inputs or set(inputs) - set('JVB'):
        raise ConfigError(f'dataset_args inputs {inputs!r} must be letters of J, V, B')
    data_shape = [len(inputs), NUM_CHANNELS, args['num_frame'], graph.num_node, NUM_PERSONS]
    return NUM_CLASSES[dataset], graph, data_shape


def generated_data_folder(dataset_args, dataset):
    """<root_folder>/<original|transformed>/<dataset>: where -gd writes and training reads."""
    kind = 'transformed' if dataset_args.get('transform') else 'original'
    return Path(dataset_args['root_folder']) / kind / dataset
