"""Every entry a config may hold, at every depth: what the code reads, and nothing else.

A mapping here is a section whose keys are checked; `None` is an entry whose value is not a
section (its value is the reader's to check). Who reads each section is named beside it;
tests/test_config.py holds the scheduler and synthetic-data sections to their readers'
signatures and the model's to the model it builds.
"""
from dataset.sources import SOURCES


def _entries(*names, **sections):
    """A section: `names` are plain entries, `sections` nested ones."""
    return {**dict.fromkeys(names), **sections}


# dataset_args.<kind>: the feeder, the loader and -gd (dataset/, initializer.py, generator.py)
_DATA_ENTRIES = ('train_batch_size', 'eval_batch_size', 'num_frame', 'inputs', 'transform',
                 'num_workers', 'root_folder')

SCHEMA = {
    # settings (main.py, processor.py)
    **_entries('gpus', 'seed', 'debug', 'pretrained_path', 'work_dir', 'no_progress_bar'),
    # -v (visualizer.py)
    **_entries('visualization_class', 'visualization_sample', 'visualization_frames'),
    'dataset': None,
    # a section per source of dataset/sources.py: the entries every section has and its own
    'dataset_args': {name: {**dict.fromkeys(_DATA_ENTRIES), **(source.entries or {})}
                     for name, source in SOURCES.items()},
    'model_type': None,
    # model.create and the layers it builds (model/)
    'model_args': _entries('stem_channel', 'block_args', 'fusion_stage', 'act_type', 'att_type',
                           'layer_type', 'drop_prob', 'kernel_size', 'scale_args',
                           'expand_ratio', 'reduct_ratio', 'bias', 'edge'),
    'optimizer': None,
    # initializer.build_optimizer (SGD is Momentum's other name)
    'optimizer_args': _entries(Momentum=_entries('lr', 'momentum', 'nesterov', 'weight_decay'),
                               SGD=_entries('lr', 'momentum', 'nesterov', 'weight_decay'),
                               Adam=_entries('lr', 'betas', 'weight_decay')),
    'lr_scheduler': None,
    # the schedules of scheduler/ (their constructors' arguments)
    'scheduler_args': _entries(cosine=_entries('max_epoch', 'warm_up'),
                               step=_entries('max_epoch', 'warm_up', 'step_lr')),
    'amp_level': None,   # processor.py (with --amp)
    # -ex --quantize (exporter/quantize.py)
    'quantization': _entries('calibration_samples', 'min_agreement', 'max_logit_change'),
    # what a saved config.yaml adds: the name it ran under and the record of the run (loading
    # takes the name from the file's and drops the record)
    **_entries('config', 'run'),
}
