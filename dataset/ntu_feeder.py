"""Feeder over the generated arrays (of NTU files or pose annotations): memory-mapped data, the
first num_frame frames, J/V/B."""
import numpy as np
from paddle.io import Dataset

from utils import safe_pickle
from utils.errors import UserError
from reader.ntu import row_name

from . import generated_data_folder, keypoint_dim
from .inputs import build_inputs

DEBUG_SAMPLES = 300


def _read_data(path):
    try:
        return np.load(path, mmap_mode='r')
    except (ValueError, OSError) as e:
        raise UserError(f'{path} is not a readable .npy array ({e}): generate the data again '
                        'with -gd') from None


def _read_labels(path):
    """(names, labels, lengths) of -gd's label pickle."""
    try:
        paths, labels, lengths = safe_pickle.load(path)[:3]
    except safe_pickle.ForbiddenName as e:
        raise UserError(e.refusal(path, 'label pickle')) from None
    except Exception as e:   # noqa: BLE001 - unpickling fails in many ways
        raise UserError(f'{path} is not the (names, labels, lengths) pickle -gd writes '
                        f'({type(e).__name__}): generate the data again with -gd') from None
    return paths, labels, lengths


class NTU_Feeder(Dataset):
    """Items are (inputs (I, 6, T, V, M) float32, label, sample name without extension)."""

    def __init__(self, phase, dataset, dataset_args, connect_joint, debug=False, center=1,
                 **kwargs):
        folder = generated_data_folder(dataset_args, dataset)
        data_path = folder / f'{phase}_data.npy'
        label_path = folder / f'{phase}_label.pkl'
        for path in (data_path, label_path):
            if not path.is_file():
                raise UserError(f'{path} is missing: generate the data first with '
                                f'`python main.py -c <config> -gd`')
        self.data = _read_data(data_path)
        paths, labels, lengths = _read_labels(label_path)
        if len(labels) != len(self.data):
            raise UserError(f'{label_path} lists {len(labels)} samples but {data_path} holds '
                            f'{len(self.data)}: generate the data again with -gd')
        # -db: the first DEBUG_SAMPLES samples; names, labels and lengths describe those only
        size = min(len(labels), DEBUG_SAMPLES) if debug else len(labels)
        self.names = [row_name(p) for p in paths[:size]]
        self.labels = np.asarray(labels[:size], dtype=np.int64)
        self.lengths = list(lengths[:size])
        self.num_frame = dataset_args['num_frame']
        self.inputs = dataset_args['inputs']
        self.connect_joint = connect_joint
        self.center = center
        self.keypoint_dim = keypoint_dim(dataset, dataset_args)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        sample = np.asarray(self.data[index, :, :self.num_frame])
        return build_inputs(sample, self.inputs, self.connect_joint, self.center,
                            self.keypoint_dim), \
            self.labels[index], self.names[index]

