"""-gd: raw skeletons -> the arrays training reads.

One module per source, one output (generation/):
- NTU's .skeleton files (`dataset: ntu-*`): generation.ntu_files;
- pose-annotation pickles of mmaction2 and pyskl (`dataset: pose-*`): generation.pose_files;
- the demo configs' synthetic data, written first where their source is absent:
  generation.synthetic.
Each writes, through generation.arrays,
<root_folder>/<original|transformed>/<dataset>/{train,eval}_data.npy (float32
N x 3 x frames x joints x 2; NTU: 300 frames, 25 joints) and {train,eval}_label.pkl = (sample
paths or ids, 0-based labels, frames kept), plus skipped.txt listing every sample that could not
be used and why. Every output is written under a temporary name and renamed when complete, and
memory stays flat however many samples there are.
"""
from dataset import is_pose_dataset
from generation.arrays import GenerateError  # noqa: F401  (main and the tests catch it here)
from generation.ntu_files import generate_from_skeletons
from generation.pose_files import generate_from_annotations


def generate(cfg, progress=True):
    """Generate the train and eval arrays of cfg['dataset']; returns a summary dict:
    {'train': {'kept': n, 'skipped': n}, 'eval': {...}, 'bad_names': n, 'ignored': n,
    'out_dir': path}."""
    if is_pose_dataset(cfg.get('dataset')):
        return generate_from_annotations(cfg, progress)
    return generate_from_skeletons(cfg, progress)
