"""Raw NTU RGB+D skeletons: parsing, names and splits, samples, pre-normalisation, synthetic data.

Pure numpy (no paddle), so data generation and deployment share it without a deep-learning
framework.
"""
from .ntu import SampleNameError, is_training, num_classes, parse_name, sample_stem, uses_ntu120
from .sample import body_energy, load_sample, select_bodies
from .skeleton import SkeletonError, read_skeleton
from .synthetic import write_synthetic_dataset
from .transform import pre_normalise

__all__ = [
    'SampleNameError', 'SkeletonError', 'body_energy', 'is_training', 'load_sample',
    'num_classes', 'parse_name', 'pre_normalise', 'read_skeleton', 'sample_stem', 'select_bodies',
    'uses_ntu120', 'write_synthetic_dataset',
]
