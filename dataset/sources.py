"""The sources of skeletons a config can name: one row each. A dataset's name is
`<source>-<name>` (ntu-xsub, pose-demo, kinetics-skeleton); the source's settings are
dataset_args.<source>.

Every source yields pose annotations (reader/pose.py: frame_dir, label, keypoint (M, T, V, C),
optional keypoint_score, total_frames, img_shape), and one path makes samples of them: -gd
(generation/samples.py) and infer.py (deploy/sources) alike. A row names
- `reader`: the function that reads one item (a file's path, or an annotation already
  loaded) into an annotation; it runs in -gd's worker processes;
- `lister`: the function `(dataset, its dataset_args section, its checked settings, progress)
  -> {'phases': {phase: (samples, skipped)}, 'skipped': [...], 'summary': {...}}` listing -gd's
  (name, item) pairs per phase, the (name, reason) of those left out and any counts for the
  summary; it checks the section's source-specific entries (folders, files) and raises a
  UserError naming the entry to fix;
- `layout`, `keypoint_dim`, `max_frame`, `class_names`: fixed by the source, or None where
  the section says (pose annotations name their own);
- `classes`: the number of classes of each dataset of the source, or None where the section's
  num_class says;
- `suffix`: the file suffix infer.py's --skeleton reads with the reader (None: not files);
- `entries`: the section's entries besides those of every section (utils/config_schema.py),
  None for a plain entry and a mapping for a nested section.
Adding a source is a reader module and a row here.
"""
import importlib
from dataclasses import dataclass

from reader.ntu import BENCHMARKS
from reader.sample import MAX_FRAME


@dataclass(frozen=True)
class Source:
    name: str
    files: str            # what it reads, in words (the exported .yml's `source`)
    reader: str           # 'module:function'
    lister: str           # 'module:function'
    layout: str = None
    keypoint_dim: int = None
    max_frame: int = None
    class_names: str = None
    classes: dict = None
    suffix: str = None
    entries: dict = None

    def read(self):
        return _function(self.reader)

    def list(self):
        return _function(self.lister)


def _function(spec):
    module, name = spec.split(':')
    return getattr(importlib.import_module(module), name)


SOURCES = {source.name: source for source in (
    Source('ntu', 'ntu .skeleton files', 'reader.ntu:skeleton_annotation',
           'generation.ntu_files:list_samples', layout='ntu', keypoint_dim=3,
           max_frame=MAX_FRAME, class_names='ntu',
           classes={name: classes for name, (_, classes) in BENCHMARKS.items()},
           suffix='.skeleton', entries={
               **dict.fromkeys(('ntu60_path', 'ntu120_path', 'ignore_list')),
               # reader.synthetic.write_synthetic_dataset's arguments (demo 1001)
               'synthetic': dict.fromkeys(('actions', 'samples_per_action', 'frames', 'seed'))}),
    Source('pose', 'pose annotations', 'reader.pose:as_annotation',
           'generation.pose_files:list_samples', entries={
               **dict.fromkeys(('ann_file', 'eval_ann_file',
                                # generation/videos.py
                                'videos', 'eval_videos', 'videos_mirrored', 'frame_rate',
                                'train_split', 'eval_split', 'layout', 'keypoint_dim',
                                'num_class', 'class_names', 'max_frame')),
               # reader.synthetic_pose.write_synthetic_annotations's arguments (demo 1002)
               'synthetic': dict.fromkeys(('num_class', 'samples_per_class', 'frames', 'seed'))}),
    Source('kinetics', 'kinetics-skeleton json', 'reader.kinetics:clip_annotation',
           'reader.kinetics:list_samples', layout='kinetics', keypoint_dim=2,
           max_frame=MAX_FRAME, classes={'kinetics-skeleton': 400}, suffix='.json',
           entries=dict.fromkeys(('data_path', 'class_names'))),
)}


def source_of(dataset):
    """The row of a dataset's source (its name's prefix); a ConfigError for an unknown one."""
    from utils.errors import ConfigError
    source = SOURCES.get(str(dataset).split('-')[0])
    if source is None or (source.classes is not None and dataset not in source.classes):
        named = [name for row in SOURCES.values() if row.classes for name in row.classes]
        free = [f'{row.name}-<name>' for row in SOURCES.values() if not row.classes]
        raise ConfigError(f'unknown dataset {dataset!r}; choose one of {", ".join(named)} or '
                          f'name a dataset {" or ".join(free)}')
    return source


def file_source(path):
    """The row whose reader reads files with the suffix of `path`; None when none does."""
    suffix = str(path)[str(path).rfind('.'):].lower() if '.' in str(path) else ''
    return next((row for row in SOURCES.values() if row.suffix == suffix), None)


def file_suffixes():
    return tuple(row.suffix for row in SOURCES.values() if row.suffix)
