"""Datasets the configs can name, with what the model needs to know about each (no paddle).

A dataset is `<source>-<name>`; its source is a row of dataset/sources.py (NTU's .skeleton files
for ntu-xsub ..., pose-annotation pickles for pose-<any name>, ...), whose settings are
dataset_args.<source>. The row fixes what the source fixes (NTU: layout, 3D, the benchmarks'
classes) and the section gives the rest (a pose dataset's layout, keypoint_dim, num_class,
class names).
"""
from pathlib import Path

from .graphs import LAYOUT_NAMES, Graph
from .sources import source_of

POSE = 'pose'   # the source of pose-annotation pickles, and its dataset_args section
NUM_CHANNELS = 6   # every input branch (J, V or B) has 6 channels
NUM_PERSONS = 2


def _section(dataset, dataset_args):
    """The entry of dataset_args for the dataset's source (dataset_args.ntu for ntu-xsub,
    dataset_args.pose for pose-*)."""
    from utils.errors import ConfigError
    kind = source_of(dataset).name
    if not isinstance(dataset_args, dict) or not isinstance(dataset_args.get(kind), dict):
        raise ConfigError(f'dataset_args has no {kind!r} entry for {dataset}')
    return dataset_args[kind]


def dataset_args_of(cfg):
    """The config's settings for its dataset, e.g. cfg['dataset_args']['ntu']."""
    return _section(cfg['dataset'], cfg['dataset_args'])


def configured_workers(args, processes, when_empty):
    """dataset_args' num_workers: None when it is empty, else a whole number of `processes`, 0
    or more; anything else is a ConfigError that names it and says what empty means
    (`when_empty`). The training loader and -gd's worker pool both read it."""
    from utils.errors import ConfigError
    workers = args.get('num_workers')
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 0):
        raise ConfigError(f'dataset_args num_workers is {workers!r}: give 0 or more '
                          f'{processes}, or leave it empty ({when_empty})')
    return workers


def dataset_settings(dataset, args):
    """The checked settings of a dataset (args: its dataset_args section): layout, keypoint_dim
    (3: x y z; 2: x y + score), num_class, max_frame (frames -gd keeps), transform and
    class_names, each from the source's row where it fixes them, else from the section. A bad
    entry is a ConfigError naming it."""
    from utils.errors import ConfigError
    source = source_of(dataset)

    def key(name):
        return f'dataset_args.{source.name}.{name}'

    layout = source.layout or args.get('layout')
    if layout not in LAYOUT_NAMES:
        raise ConfigError(f'{key("layout")} is {layout!r}: choose one of {", ".join(LAYOUT_NAMES)}')
    settings = {'layout': layout}
    fixed = {'keypoint_dim': source.keypoint_dim, 'max_frame': source.max_frame,
             'num_class': source.classes[dataset] if source.classes else None}
    for name, allowed in (('keypoint_dim', (2, 3)), ('num_class', None), ('max_frame', None)):
        value = args.get(name) if fixed[name] is None else fixed[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or \
                (allowed and value not in allowed):
            wanted = ' or '.join(map(str, allowed)) if allowed else 'a whole number of at least 1'
            raise ConfigError(f'{key(name)} is {value!r}: give {wanted}')
        settings[name] = value
    settings['transform'] = bool(args.get('transform'))
    if settings['transform'] and (settings['keypoint_dim'] != 3 or layout != 'ntu'):
        raise ConfigError(f'{key("transform")}: the X-view pre-normalisation uses NTU joints and '
                          f'depth; it applies to 3D poses in the ntu layout only (set it False)')
    settings['class_names'] = source.class_names or args.get('class_names')
    return settings


def keypoint_dim(dataset, args):
    """What a sample of the dataset holds: 3 (x y z) or 2 (x y and the keypoint score). args is
    its dataset_args section."""
    return dataset_settings(dataset, args)['keypoint_dim']


def dataset_info(dataset, dataset_args):
    """num_class, graph and data_shape [I, C, T, V, M] of a config's dataset."""
    from utils.errors import ConfigError
    args = _section(dataset, dataset_args)
    settings = dataset_settings(dataset, args)
    graph = Graph(settings['layout'])
    inputs = args['inputs']
    if not inputs or set(inputs) - set('JVB'):
        raise ConfigError(f'dataset_args inputs {inputs!r} must be letters of J, V, B')
    data_shape = [len(inputs), NUM_CHANNELS, args['num_frame'], graph.num_node, NUM_PERSONS]
    return settings['num_class'], graph, data_shape


def class_names(dataset, dataset_args, num_class):
    """Names of classes 0..num_class-1, by the dataset's class_names setting (the source's, or
    its section's): `ntu` (NTU's action names), a file with one name a line, or empty (class 0,
    class 1, ...)."""
    from utils.errors import ConfigError

    from .ntu_actions import class_names as ntu_names
    source = source_of(dataset)
    setting = dataset_settings(dataset, _section(dataset, dataset_args))['class_names']
    if setting == 'ntu':
        return ntu_names(num_class)
    if not setting:
        return [f'class {i}' for i in range(num_class)]
    try:
        names = [line.strip() for line in Path(setting).read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f'cannot read the class names file {setting} ({e}): set '
                          f'dataset_args.{source.name}.class_names to a file with one name a '
                          f'line, ntu, or leave it empty') from None
    if len(names) != num_class:
        raise ConfigError(f'{setting} names {len(names)} classes but num_class is {num_class}: '
                          f'give one name a line for each class')
    return names


NORMALISATION = {
    3: 'x y z as read (transform: the X-view pre-normalisation on top)',
    2: 'x and y scaled by img_shape to [-1, 1] (x / width * 2 - 1); the keypoint score third',
}


# How J/V/B carry a 2D keypoint score (dataset/inputs.py): as a confidence channel. Exports of
# 2D models from before it took the score as a coordinate lack this entry.
SCORE_CHANNEL = 'confidence'


def input_format(dataset, dataset_args):
    """How raw poses become a sample, for the exported .yml: the source (what it reads, in
    words), layout, keypoint_dim, max_frame (frames kept before num_frame), transform (the
    X-view pre-normalisation) and the normalisation in words (and for 2D how J/V/B use the score). infer.py prepares its inputs
    from these alone."""
    settings = dataset_settings(dataset, _section(dataset, dataset_args))
    format_ = {'source': source_of(dataset).files, 'layout': settings['layout'],
               'keypoint_dim': settings['keypoint_dim'], 'max_frame': settings['max_frame'],
               'transform': settings['transform']}
    format_['normalisation'] = NORMALISATION[format_['keypoint_dim']]
    if format_['keypoint_dim'] == 2:
        format_['score_channel'] = SCORE_CHANNEL
    return format_


def generated_data_folder(dataset_args, dataset):
    """<root_folder>/<original|transformed>/<dataset>: where -gd writes and training reads."""
    kind = 'transformed' if dataset_args.get('transform') else 'original'
    return Path(dataset_args['root_folder']) / kind / dataset
