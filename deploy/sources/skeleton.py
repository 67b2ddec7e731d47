"""Skeleton files (and folders of them) of the sources that read files (dataset/sources.py:
NTU's `.skeleton` and the others with a suffix): each read by its source's reader into a
pose annotation and prepared as -gd prepares it (pose_file.pose_samples). A folder gives the
files of the sources whose poses the model takes."""
import reader
from dataset.sources import file_source, file_suffixes
from ..messages import InferError, report_error
from .paths import collect_files
from .pose_file import pose_samples


def open_samples(paths, deploy, failures):
    """(name, sample, label) of the skeleton files and folders of them in `paths`."""
    files = skeleton_files(paths, deploy, failures)
    if not files and not failures:
        raise InferError(f'no skeleton files ({", ".join(file_suffixes())}) in '
                         f'{" ".join(map(str, paths))}')
    for path in files:
        check_model_takes(file_source(path), path, deploy)
    return pose_samples(file_annotations(files, failures), deploy, failures)


def takes(source, deploy):
    """Whether the model takes the poses of the source's files."""
    return source is not None and \
        (source.layout, source.keypoint_dim) == (deploy['layout'], deploy['keypoint_dim'])


def check_model_takes(source, path, deploy):
    if source is None:
        raise InferError(f'{path}: not a skeleton file ({", ".join(file_suffixes())})')
    if not takes(source, deploy):
        raise InferError(f'{source.suffix} files ({source.files}) hold {source.keypoint_dim}D '
                         f'{source.layout} poses, but this model takes {deploy["keypoint_dim"]}D '
                         f'poses in the {deploy["layout"]} layout: give them with --pose_file')


def skeleton_files(paths, deploy, failures):
    """The given files plus the files of the given folders that the model takes, each once, in
    order."""
    return collect_files(paths, failures, lambda path: takes(file_source(path), deploy),
                         f'skeleton files for a {deploy["keypoint_dim"]}D {deploy["layout"]} '
                         'model')


def file_annotations(files, failures):
    """(name, annotation) of the readable files; unreadable ones are reported."""
    for path in files:
        try:
            annotation = file_source(path).read()(str(path))
        except (reader.SkeletonError, reader.PoseSampleError, OSError) as e:
            report_error(path, getattr(e, 'reason', e))
            failures.append(str(path))
            continue
        yield annotation['frame_dir'], annotation
