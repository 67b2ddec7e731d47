"""-gd from your own videos (dataset_args.pose.videos): each video's poses are extracted once
with reader/video (every core, a progress bar), each into a cache file of its own, so that an
interrupted run goes on where it stopped; then the poses become a pose-annotation pickle (the
mmaction2 / pyskl format), which -gd turns into the arrays as it does any annotation pickle.

`videos` (training) and `eval_videos` (evaluation; without it the training videos are
evaluated on, and the log says so) are each a folder with one sub-folder per class (classes
numbered in the sub-folders' sorted order) or a text file of `path label` lines (paths relative
to the file, labels 0-based). Poses are cached under <root_folder>/video_poses/, one file per
video, named after its path, size and modification time; the pickle is written to
<root_folder>/videos.pkl, and read in place of `ann_file`.
"""
import hashlib
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dataset import POSE
from reader.video import VideoError, VideoSetupError, video_annotation, video_poses
from reader.video.frames import VIDEO_SUFFIXES
from reader.video.landmarks import VideoPoses, import_mediapipe
from reader.video.timing import DEFAULT_FRAME_RATE
from utils.files import atomic_save, save_pickle
from .arrays import GenerateError
from .workers import available_cores, worker_pool

logger = logging.getLogger(__name__)

CACHE_FOLDER = 'video_poses'
POSES_FORMAT = 'people-times'   # up to three people per frame, with the frames' time stamps
DEFAULT_ANN_FILE = 'videos.pkl'


def annotations_from_videos(args, settings, progress=True):
    """Extract what is not cached yet and write the annotation pickle. Returns the settings
    with ann_file pointing at it (and no eval_ann_file), and per phase the (id, reason) of the
    videos that could not be used."""
    phases = {'train': list_videos(args['videos'], 'videos')}
    if args.get('eval_videos'):
        phases['eval'] = list_videos(args['eval_videos'], 'eval_videos')
    else:
        logger.warning('no dataset_args.%s.eval_videos: the training videos are evaluated on',
                       POSE)
        phases['eval'] = phases['train']
    try:
        import_mediapipe()
    except VideoSetupError as e:
        raise GenerateError(str(e)) from None
    cache = Path(args['root_folder']) / CACHE_FOLDER
    cache.mkdir(parents=True, exist_ok=True)
    videos = sorted({path for listed in phases.values() for path, _, _ in listed})
    rate = float(args.get('frame_rate') or DEFAULT_FRAME_RATE)
    failed = extract_poses(videos, cache, rate, progress)
    mirrored = bool(args.get('videos_mirrored'))
    annotations, splits, unusable = {}, {}, {}
    for phase, listed in phases.items():
        split_name = args.get('train_split' if phase == 'train' else 'eval_split') or phase
        splits[split_name], unusable[phase] = [], []
        for path, name, label in listed:
            if path in failed:
                unusable[phase].append((name, failed[path]))
                continue
            if name not in annotations:
                poses = load_poses(cache_file(cache, path, rate), path).at_rate(rate)
                annotation = video_annotation(poses, settings['layout'],
                                              settings['keypoint_dim'], label, mirrored)
                annotations[name] = dict(annotation, frame_dir=name)
            splits[split_name].append(name)
    ann_file = Path(args['root_folder']) / DEFAULT_ANN_FILE
    if args.get('ann_file'):
        logger.info('videos given: %s (ann_file) is not read', args['ann_file'])
    atomic_save({'split': splits, 'annotations': list(annotations.values())}, ann_file,
                save_pickle)
    logger.info('poses of %d videos -> %s', len(annotations), ann_file)
    return dict(args, ann_file=str(ann_file), eval_ann_file=None,
                train_split=args.get('train_split') or 'train',
                eval_split=args.get('eval_split') or 'eval'), unusable


def list_videos(setting, key):
    """(path, sample id, label) of a folder of class sub-folders or a `path label` list file."""
    where = Path(str(setting))
    if where.is_dir():
        return _videos_of_class_folders(where, key)
    if where.is_file():
        return _videos_of_list(where, key)
    raise GenerateError(f'dataset_args.{POSE}.{key}: {where} does not exist (give a folder with '
                        'one sub-folder per class, or a file of `path label` lines)')


def _videos_of_class_folders(folder, key):
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise GenerateError(f'dataset_args.{POSE}.{key}: {folder} has no class sub-folders')
    listed = []
    for label, class_folder in enumerate(classes):
        logger.info('class %d: %s', label, class_folder.name)
        for path in sorted(class_folder.iterdir()):
            if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
                listed.append((path, f'{class_folder.name}/{path.stem}', label))
    if not listed:
        raise GenerateError(f'dataset_args.{POSE}.{key}: no videos in the sub-folders of '
                            f'{folder}')
    return listed


def _videos_of_list(list_file, key):
    listed = []
    for number, line in enumerate(list_file.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        fields = line.rsplit(maxsplit=1)
        if len(fields) != 2 or not fields[1].isdigit():
            raise GenerateError(f'{list_file} line {number}: {line.strip()!r} is not '
                                '`path label` (label a 0-based class number)')
        path = list_file.parent / fields[0].strip()
        listed.append((path, str(Path(fields[0].strip()).with_suffix('')), int(fields[1])))
    if not listed:
        raise GenerateError(f'dataset_args.{POSE}.{key}: {list_file} lists no videos')
    return listed


def cache_file(cache, path, rate):
    """The cache file of a video: its name, and a hash of its path, size and modification time,
    of the frame rate its poses are taken at (the frames the pose models ran on) and of the
    poses' format (a changed or replaced video is extracted again, and so is every video when
    the rate or the format changes)."""
    stat = Path(path).stat()
    key = f'{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{rate:g}|{POSES_FORMAT}'
    return cache / f'{Path(path).stem}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz'


def extract_poses(videos, cache, rate, progress):
    """Extract the videos whose cache file is missing, on every core, on the frames taken at
    `rate` frames/s; returns {path: reason} of those that could not be read (they are tried
    again on the next run)."""
    failed, jobs = {}, []
    for path in videos:
        try:
            target = cache_file(cache, path, rate)
        except OSError as e:
            failed[path] = f'cannot read it ({e.strerror})'
            continue
        if not target.exists():
            jobs.append((path, target, rate))
    logger.info('video poses: %d of %d cached, extracting %d', len(videos) - len(jobs) -
                len(failed), len(videos), len(jobs))
    if not jobs:
        return failed
    with _pool(len(jobs)) as pool, tqdm(total=len(jobs), desc='poses', unit='video',
                                         dynamic_ncols=True, disable=not progress) as bar:
        for path, reason in pool.imap_unordered(_extract, jobs):
            bar.update()
            if reason:
                logger.warning('%s: %s (left out)', path, reason)
                failed[path] = reason
    return failed


def _pool(num_jobs):
    """Every core, one video per process (forked before MediaPipe runs)."""
    return worker_pool(max(1, min(available_cores(), num_jobs)))


def _extract(job):
    """In a worker: one video's poses into its cache file; (path, None) or (path, reason)."""
    path, target, rate = job
    try:
        poses = video_poses(path, threads=1, rate=rate)   # a process a core: one thread each
    except VideoError as e:
        return path, str(e).removeprefix(f'{path}: ')
    except Exception as e:   # noqa: BLE001 - report, skip, carry on with the other videos
        return path, f'unexpected {type(e).__name__}: {e}'
    arrays = {'world': poses.world, 'image': poses.image, 'visibility': poses.visibility,
              'found': poses.found, 'fps': poses.fps, 'img_shape': poses.img_shape,
              'times': poses.times, 'frame_index': poses.frame_index}
    atomic_save(arrays, target, lambda content, name: _save_npz(content, name))
    return path, None


def _save_npz(arrays, name):
    with open(name, 'wb') as f:   # a file object: np.savez would add .npz to a name
        np.savez(f, **arrays)


def load_poses(target, path):
    with np.load(target) as arrays:
        return VideoPoses(Path(path), float(arrays['fps']),
                          tuple(int(v) for v in arrays['img_shape']), arrays['times'],
                          arrays['frame_index'], arrays['world'], arrays['image'],
                          arrays['visibility'], arrays['found'])
