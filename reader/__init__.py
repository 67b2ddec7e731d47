"""Raw skeletons as pose annotations (pose.py: the one sample format, and pose_sample, which
makes every model-ready sample): NTU RGB+D files (parsing, names and splits), pose-annotation
pickles, the other sources' files (dataset/sources.py), the pre-normalisation, synthetic data.

Pure numpy (no paddle), so data generation and deployment share it without a deep-learning
framework.
"""
from .ntu import (SampleNameError, is_training, load_sample, num_classes, parse_name, row_name,
                  sample_stem, skeleton_annotation, uses_ntu120)
from .pose import PoseFileError, PoseSampleError, load_annotations, pose_sample, split_samples
from .sample import body_energy, select_bodies
from .skeleton import SkeletonError, read_skeleton
from .synthetic import write_synthetic_dataset
from .transform import pre_normalise

__all__ = [
    'PoseFileError', 'PoseSampleError', 'SampleNameError', 'SkeletonError', 'body_energy',
    'is_training', 'load_annotations', 'load_sample', 'num_classes', 'parse_name', 'pose_sample',
    'pre_normalise', 'read_skeleton', 'row_name', 'sample_stem', 'select_bodies',
    'skeleton_annotation', 'split_samples', 'uses_ntu120', 'write_synthetic_dataset',
]
