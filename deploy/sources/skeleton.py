"""Raw NTU `.skeleton` files (and folders of them), read and padded as -gd reads them."""
from pathlib import Path

import reader
from ..messages import InferError, report_error, warn
from ..model_config import check_sample_shape
from .paths import collect_files


def open_samples(args, deploy, failures):
    check_ntu_model(deploy)
    files = skeleton_files(args.skeleton, failures)
    if not files and not failures:
        raise InferError(f'no .skeleton files in {" ".join(args.skeleton)}')
    return skeleton_samples(files, deploy, failures)


def check_ntu_model(deploy):
    if deploy['layout'] != 'ntu' or deploy['keypoint_dim'] != 3:
        raise InferError(f'.skeleton files hold 3D NTU-25 joints, but this model takes '
                         f'{deploy["keypoint_dim"]}D poses in the {deploy["layout"]} layout: '
                         'give them with --pose_file')


def skeleton_files(paths, failures):
    """The given files plus the .skeleton files of the given folders, each once, in order."""
    return collect_files(paths, failures, lambda path: path.suffix == '.skeleton',
                         '.skeleton files')


def label_from_name(path, num_class):
    """0-based class from the NTU name (A001 -> 0); None when the name carries no known class."""
    try:
        label = reader.parse_name(Path(path).name)['action'] - 1
    except (ValueError, KeyError, TypeError):
        return None
    return label if 0 <= label < num_class else None


def read_skeleton_file(path, deploy):
    """(C, 300, V, 2) float32 from a raw file, padded as -gd pads it and pre-normalised when
    training was."""
    data, _, notes = reader.load_sample(str(path), transform=bool(deploy['transform']))
    for note in notes:
        warn(f'{path}: {note}')
    return data


def skeleton_samples(files, deploy, failures):
    """(name, sample, label) of the readable files; unreadable ones are reported."""
    for path in files:
        try:
            data = read_skeleton_file(path, deploy)
        except (reader.SkeletonError, OSError) as e:
            report_error(path, getattr(e, 'reason', e))
            failures.append(str(path))
            continue
        check_sample_shape(data.shape, deploy, str(path))
        yield reader.sample_stem(path), data, label_from_name(path, deploy['num_class'])
