"""-gd: raw skeletons -> the arrays training reads.

Every source of skeletons is a row of dataset/sources.py, looked up by the dataset's name
(`ntu-*`: NTU's .skeleton files, listed by generation.ntu_files; `pose-*`: pose-annotation
pickles of mmaction2 and pyskl, or your own videos, listed by generation.pose_files; and the
others there). Its samples' pose annotations go through one path (generation.samples) into
<root_folder>/<original|transformed>/<dataset>/{train,eval}_data.npy (float32
N x 3 x frames x joints x 2; NTU: 300 frames, 25 joints) and {train,eval}_label.pkl = (sample
paths or ids, 0-based labels, frames kept), plus skipped.txt listing every sample that could not
be used and why (generation.arrays). The demo configs' synthetic data is written first where
their source is absent (generation.synthetic). Every output is written under a temporary name
and renamed when complete, and memory stays flat however many samples there are.
"""
from generation.arrays import GenerateError  # noqa: F401  (main and the tests catch it here)
from generation.samples import generate_dataset


def generate(cfg, progress=True):
    """Generate the train and eval arrays of cfg['dataset']; returns a summary dict:
    {'train': {'kept': n, 'skipped': n}, 'eval': {...}, 'bad_names': n, 'ignored': n,
    'out_dir': path}."""
    return generate_dataset(cfg, progress)
