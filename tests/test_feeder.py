import numpy as np
import pytest

from dataset.graphs import Graph
from dataset.inputs import build_inputs
from dataset.ntu_feeder import NTU_Feeder
from dataset.samplers import ShardedBatchSampler
from utils.errors import UserError
from fake_data import write_generated_split

CONNECT = Graph('ntu').connect_joint


def feeder_args(root, **kw):
    args = dict(root_folder=str(root), transform=False, num_frame=20, inputs='JVB')
    args.update(kw)
    return args


def test_feeder_cuts_frames_and_builds_inputs(tmp_path):
    data = write_generated_split(tmp_path / 'original' / 'ntu-xsub', 'eval', [3, 1, 4])
    feeder = NTU_Feeder('eval', 'ntu-xsub', feeder_args(tmp_path), CONNECT)
    x, label, name = feeder[2]
    assert len(feeder) == 3 and label == 4 and name == 'S001C001P002R001A005'
    np.testing.assert_allclose(x, build_inputs(data[2, :, :20], 'JVB', CONNECT))
    assert x.shape == (3, 6, 20, 25, 2) and x.dtype == np.float32


def test_feeder_reads_transformed_folder_and_debug_limit(tmp_path):
    write_generated_split(tmp_path / 'transformed' / 'ntu-xview', 'train', list(range(5)) * 70)
    feeder = NTU_Feeder('train', 'ntu-xview', feeder_args(tmp_path, transform=True), CONNECT,
                        debug=True)
    assert len(feeder) == 300


def test_missing_data_says_to_generate(tmp_path):
    with pytest.raises(UserError, match='train_data.npy is missing.*-gd'):
        NTU_Feeder('train', 'ntu-xsub', feeder_args(tmp_path), CONNECT)


def test_train_sampler_shuffles_by_epoch_and_drops_the_last_batch():
    sampler = ShardedBatchSampler(10, 4, shuffle=True, drop_last=True, seed=1)
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    second = list(sampler)
    assert len(first) == len(sampler) == 2 and all(len(b) == 4 for b in first)
    assert first != second
    sampler.set_epoch(1)
    assert list(sampler) == first           # order depends only on (seed, epoch)


def test_eval_sampler_scores_every_sample_once_over_ranks():
    batches = [b for rank in range(3)
               for b in ShardedBatchSampler(11, 4, shuffle=False, drop_last=False, rank=rank,
                                            world_size=3)]
    assert sorted(i for b in batches for i in b) == list(range(11))
    single = list(ShardedBatchSampler(11, 4, shuffle=False, drop_last=False))
    assert single == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
