"""generator.generate: splits, labels, lengths, robustness, atomic output and flat memory."""
import json
import logging
import multiprocessing
import pickle
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import generation.arrays
import generation.samples
from helpers import config_of, run_python
from utils.errors import UserError
from generator import GenerateError, generate
from memory_probe import run_watching_memory
from reader import load_sample, write_synthetic_dataset
from skeleton_files import bad_texts, moving_bodies, ntu_text

REPO = Path(__file__).resolve().parents[1]

# The 12 real files under the official rules (performers 1, 8, 15 train X-sub; cameras 2, 3
# train X-view), sorted by name, with their 0-based labels and frame counts.
XSUB_TRAIN = ['S001C001P001R001A001', 'S001C001P001R001A011', 'S001C001P001R001A050',
              'S001C003P008R002A058', 'S003C001P015R001A034']
XVIEW_TRAIN = ['S001C003P008R002A058', 'S004C002P003R001A017', 'S017C003P020R002A054',
               'S017C003P020R002A055', 'S017C003P020R002A056', 'S017C003P020R002A057',
               'S017C003P020R002A058']
LENGTHS = {'S001C001P001R001A001': 103, 'S001C001P001R001A011': 82, 'S001C001P001R001A050': 74,
           'S001C003P008R002A058': 70, 'S002C001P003R001A003': 100, 'S003C001P015R001A034': 71,
           'S004C002P003R001A017': 124, 'S017C003P020R002A054': 42, 'S017C003P020R002A055': 66,
           'S017C003P020R002A056': 80, 'S017C003P020R002A057': 76, 'S017C003P020R002A058': 65}


def config(root, folder, dataset='ntu-xsub', transform=False, **extra):
    """Config 2001's settings for `dataset`, generating from `folder` into `root`."""
    entries = dict(root_folder=str(root), ntu60_path=str(folder), ntu120_path=None,
                   transform=transform, num_workers=2)
    cfg = config_of('2001', **{**entries, **extra})
    cfg['dataset'] = dataset   # after: an unknown one is what some tests give
    return cfg


def outputs(root, dataset, transform=False):
    folder = Path(root) / ('transformed' if transform else 'original') / dataset
    result = {}
    for phase in ('train', 'eval'):
        data = np.load(folder / f'{phase}_data.npy')
        with open(folder / f'{phase}_label.pkl', 'rb') as f:
            paths, labels, lengths = pickle.load(f)
        names = [Path(p).name.split('.')[0] for p in paths]
        result[phase] = data, names, labels, lengths, paths
    return result


def check_split(split, expected_names):
    data, names, labels, lengths, _ = split
    assert names == expected_names
    assert labels == [int(n[-3:]) - 1 for n in names]
    assert lengths == [LENGTHS[n] for n in names]
    assert data.shape == (len(names), 3, 300, 25, 2) and data.dtype == np.float32


def test_config_2001_settings_on_the_real_files(tmp_path, real_skeleton_dir, missing_list_ntu60):
    cfg = config(tmp_path, real_skeleton_dir, ignore_list=str(missing_list_ntu60))
    summary = generate(cfg, progress=False)
    assert summary['train'] == {'kept': 5, 'skipped': 0}
    assert summary['eval'] == {'kept': 7, 'skipped': 0}
    out = outputs(tmp_path, 'ntu-xsub')
    check_split(out['train'], XSUB_TRAIN)
    check_split(out['eval'], sorted(set(LENGTHS) - set(XSUB_TRAIN)))
    data, names, _, _, paths = out['eval']
    np.testing.assert_array_equal(data[0], load_sample(paths[0])[0])
    assert paths[0] == str(real_skeleton_dir / f'{names[0]}.skeleton')
    assert (tmp_path / 'original' / 'ntu-xsub' / 'skipped.txt').read_text() == ''


def test_config_2002_settings_pre_normalise(tmp_path, real_skeleton_dir):
    generate(config(tmp_path, real_skeleton_dir, 'ntu-xview', transform=True), progress=False)
    out = outputs(tmp_path, 'ntu-xview', transform=True)
    check_split(out['train'], XVIEW_TRAIN)
    check_split(out['eval'], sorted(set(LENGTHS) - set(XVIEW_TRAIN)))
    for split in out.values():
        for sample in split[0]:
            frame0 = sample[:, 0, :, 0]
            shoulders = frame0[:, 8] - frame0[:, 4]
            spine = frame0[:, 1] - frame0[:, 0]
            np.testing.assert_allclose(shoulders / np.linalg.norm(shoulders), [1, 0, 0], atol=1e-5)
            assert spine[2] / np.linalg.norm(spine) > 0.98   # +z, tilted a little by the x step


def test_pool_size_does_not_change_the_output(tmp_path, real_skeleton_dir):
    generate(config(tmp_path / 'a', real_skeleton_dir, num_workers=1), progress=False)
    generate(config(tmp_path / 'b', real_skeleton_dir, num_workers=2), progress=False)
    a, b = outputs(tmp_path / 'a', 'ntu-xsub'), outputs(tmp_path / 'b', 'ntu-xsub')
    for phase in ('train', 'eval'):
        np.testing.assert_array_equal(a[phase][0], b[phase][0])
        assert a[phase][1:] == b[phase][1:]


def write_good_and_bad(folder):
    """Good files interleaved (by name) with one file of each bad kind; returns (good, bad)."""
    folder.mkdir()
    good, bad = [], {}
    kinds = sorted(bad_texts().items())
    for i, (kind, (text, reason)) in enumerate(kinds):
        for performer in (1, 3):    # one before and one after each bad file, in both splits
            name = f'S001C001P{performer:03d}R{2 * i + 1:03d}A{i + 1:03d}.skeleton'
            (folder / name).write_text(ntu_text([[b] for b in moving_bodies(6, 0.2, i)]))
            good.append(name)
        name = f'S001C001P{1 + 2 * (i % 2):03d}R{2 * i + 2:03d}A{i + 1:03d}.skeleton'
        (folder / name).write_text(text)
        bad[name] = reason
    (folder / 'S001C001P001R001.skeleton').write_text(ntu_text([[moving_bodies(2, 0.2)[0]]]))
    bad['S001C001P001R001.skeleton'] = 'SsssCcccPpppRrrrAaaa'
    (folder / 'S001C001P001R050A061.skeleton').write_text(ntu_text([[moving_bodies(2, 0.2)[0]]]))
    bad['S001C001P001R050A061.skeleton'] = 'action 61 is not one of the 60 classes'
    (folder / 'README.txt').write_text('not a skeleton')
    # Odd but usable: over 300 frames, 6 bodies in a frame.
    (folder / 'S001C002P001R090A001.skeleton').write_text(
        ntu_text([[b] for b in moving_bodies(310, 0.2)]))
    six = [moving_bodies(3, 0.1 * (k + 1), k) for k in range(6)]
    (folder / 'S001C002P001R091A001.skeleton').write_text(
        ntu_text([[track[t] for track in six] for t in range(3)]))
    good += ['S001C002P001R090A001.skeleton', 'S001C002P001R091A001.skeleton']
    return good, bad


def test_bad_files_are_skipped_and_named_good_ones_kept(tmp_path, caplog):
    good, bad = write_good_and_bad(tmp_path / 'skeletons')
    with caplog.at_level(logging.INFO, logger='generation'):
        summary = generate(config(tmp_path, tmp_path / 'skeletons'), progress=False)
    out = outputs(tmp_path, 'ntu-xsub')
    kept = out['train'][1] + out['eval'][1]
    assert sorted(kept) == sorted(n.split('.')[0] for n in good)
    for phase in ('train', 'eval'):
        data, names, labels, lengths, paths = out[phase]
        assert len(data) == len(names) == len(labels) == len(lengths)
        assert names == sorted(names)
        for row, path in zip(data, paths):    # rows moved up over the skipped files intact
            np.testing.assert_array_equal(row, load_sample(path)[0])
    long_index = out['train'][1].index('S001C002P001R090A001')
    assert out['train'][3][long_index] == 300
    assert summary['train']['skipped'] + summary['eval']['skipped'] + summary['bad_names'] \
        == len(bad)

    skipped = (tmp_path / 'original' / 'ntu-xsub' / 'skipped.txt').read_text().splitlines()
    assert len(skipped) == len(bad)
    messages = [r.getMessage() for r in caplog.records]
    for name, reason in bad.items():
        line = next(s for s in skipped if Path(s.split(': ')[0]).name == name)
        assert re.search(reason, line), line
        assert any(m.startswith(f'skipped {tmp_path / "skeletons" / name}: ') for m in messages)
    assert any('310 frames, kept the first 300' in m for m in messages)
    assert any(m.startswith('ntu-xsub: train kept') for m in messages)


def test_ignore_list_leaves_files_out(tmp_path, real_skeleton_dir):
    folder = tmp_path / 'skeletons'
    shutil.copytree(real_skeleton_dir, folder)
    ignore = tmp_path / 'missing.txt'
    ignore.write_text('2 of the captured samples are incomplete.\nPlease ignore them.\n\n'
                      'S001C001P001R001A001\nS017C003P020R002A054\n')
    summary = generate(config(tmp_path, folder, ignore_list=str(ignore)), progress=False)
    assert summary['ignored'] == 2
    out = outputs(tmp_path, 'ntu-xsub')
    assert 'S001C001P001R001A001' not in out['train'][1]
    assert 'S017C003P020R002A054' not in out['eval'][1]
    assert len(out['train'][1]) + len(out['eval'][1]) == 10


def listed_names(name):
    path = REPO / 'dataset' / 'ignore_lists' / f'{name}_samples_with_missing_skeletons.txt'
    return [line.strip() for line in path.read_text().splitlines()
            if re.fullmatch(r'S\d{3}C\d{3}P\d{3}R\d{3}A\d{3}', line.strip())]


def test_the_shipped_lists_are_ntus(real_skeleton_dir):
    ntu60, ntu120 = listed_names('NTU_RGBD'), listed_names('NTU_RGBD120')
    assert len(ntu60) == len(set(ntu60)) == 302 and len(ntu120) == len(set(ntu120)) == 535
    assert set(ntu60) <= set(ntu120)
    shared = real_skeleton_dir.parent
    for name in ('NTU_RGBD', 'NTU_RGBD120'):
        shipped = REPO / 'dataset' / 'ignore_lists' / f'{name}_samples_with_missing_skeletons.txt'
        assert shipped.read_bytes() == (shared / shipped.name).read_bytes()


@pytest.mark.parametrize('dataset,list_name', [('ntu-xsub', 'NTU_RGBD'),
                                               ('ntu-xview', 'NTU_RGBD'),
                                               ('ntu-xsub120', 'NTU_RGBD120'),
                                               ('ntu-xset120', 'NTU_RGBD120')])
def test_ntus_list_is_applied_by_default_and_names_every_sample(tmp_path, real_skeleton_dir,
                                                                dataset, list_name, caplog):
    """A folder of the 12 real files and files named after list entries (NTU-60 ones, and for
    NTU-120 also ones only that list has): every listed sample left out and named in
    skipped.txt, the rest kept; `none` keeps them all."""
    folder = tmp_path / 'skeletons'
    shutil.copytree(real_skeleton_dir, folder)
    text = (real_skeleton_dir / 'S001C001P001R001A001.skeleton').read_bytes()
    only_120 = sorted(set(listed_names('NTU_RGBD120')) - set(listed_names('NTU_RGBD')))
    listed = listed_names('NTU_RGBD')[::60] + only_120[::100]   # some of each, all splits
    for name in listed:
        (folder / f'{name}.skeleton').write_bytes(text)
    expected = [n for n in listed if n in listed_names(list_name)]
    cfg = config(tmp_path, folder, dataset)
    if '120' in dataset:
        cfg['dataset_args']['ntu']['ntu120_path'] = str(tmp_path / 'empty120')
        (tmp_path / 'empty120').mkdir()
        (tmp_path / 'empty120' / 'S018C001P008R001A061.skeleton').write_bytes(text)
    caplog.set_level('INFO')
    summary = generate(cfg, progress=False)
    assert summary['ignored'] == len(expected) and len(expected) >= 5
    skipped = (Path(summary['out_dir']) / 'skipped.txt').read_text()
    for name in expected:
        assert f'{name}.skeleton: on NTU' in skipped
    out = outputs(tmp_path, dataset)
    kept = out['train'][1] + out['eval'][1]
    assert not set(kept) & set(expected)
    assert set(n.name[:-9] for n in real_skeleton_dir.glob('*.skeleton')) <= set(kept)
    assert any('ignored' in m and 'train and' in m and 'eval samples' in m
               for m in caplog.messages)
    cfg['dataset_args']['ntu']['ignore_list'] = 'none'
    assert generate(cfg, progress=False)['ignored'] == 0


@pytest.mark.parametrize('dataset, folder_key, change', [
    ('ntu-xsub', 'ntu60_path', {'ntu60_path': None}),
    ('ntu-xsub', 'ntu60_path', {'ntu60_path': 'EMPTY'}),
    ('ntu-xsub', 'ntu60_path', {'ntu60_path': 'ABSENT'}),
    ('ntu-xset120', 'ntu120_path', {'ntu120_path': None}),
    ('ntu-xsub', 'root_folder', {'root_folder': None}),
    ('kinetics', 'dataset', {}),
    ('ntu-xsub', 'ignore_list', {'ignore_list': 'ABSENT'}),
    ('ntu-xsub', 'synthetic', {'ntu60_path': 'EMPTY', 'synthetic': {'classes': 3}}),
])
def test_config_problems_are_one_line_errors_naming_the_key(tmp_path, real_skeleton_dir, dataset,
                                                            folder_key, change):
    (tmp_path / 'empty').mkdir()
    places = {'EMPTY': str(tmp_path / 'empty'), 'ABSENT': str(tmp_path / 'absent')}
    cfg = config(tmp_path, real_skeleton_dir, dataset)
    cfg['dataset_args']['ntu'].update(
        {k: places.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(GenerateError) as error:
        generate(cfg, progress=False)
    message = str(error.value)
    assert '\n' not in message and folder_key in message
    assert isinstance(error.value, ValueError) and isinstance(error.value, UserError)


def test_synthetic_settings_fill_an_empty_folder(tmp_path):
    cfg = config(tmp_path, tmp_path / 'synthetic',
                 synthetic=dict(actions=[1, 2, 3], samples_per_action=4, frames=20, seed=1))
    summary = generate(cfg, progress=False)
    assert summary['train']['kept'] == 6 and summary['eval']['kept'] == 6
    assert len(list((tmp_path / 'synthetic').glob('*.skeleton'))) == 12


def test_interrupted_run_leaves_no_file_that_looks_complete(tmp_path, real_skeleton_dir,
                                                            monkeypatch):
    generate(config(tmp_path, real_skeleton_dir), progress=False)   # an earlier, complete run

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generation.arrays, 'drop_rows_after', interrupt)
    with pytest.raises(KeyboardInterrupt):
        generate(config(tmp_path, real_skeleton_dir), progress=False)
    assert sorted(p.name for p in (tmp_path / 'original' / 'ntu-xsub').iterdir()) == []


def test_fewer_rows_when_files_are_skipped(tmp_path, real_skeleton_dir):
    folder = tmp_path / 'skeletons'
    shutil.copytree(real_skeleton_dir, folder)
    (folder / 'S001C001P001R009A009.skeleton').write_text('0\n')
    generate(config(tmp_path, folder), progress=False)
    data = np.load(tmp_path / 'original' / 'ntu-xsub' / 'train_data.npy', mmap_mode='r')
    assert data.shape == (5, 3, 300, 25, 2)


_CHILD = '''
import json, sys
sys.path.insert(0, {repo!r})
import generator
print(json.dumps(generator.generate(json.loads({cfg!r}), progress=False)))
'''


def peak_generation_memory(cfg):
    """Peak anonymous memory of generate(cfg) in a process of its own (workers included)."""
    cfg = json.dumps(cfg)
    result, peak = run_watching_memory([sys.executable, '-c',
                                        _CHILD.format(repo=str(REPO), cfg=cfg)])
    assert result.returncode == 0, result.stderr
    return peak


@pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='needs Linux /proc')
def test_peak_memory_does_not_grow_with_the_number_of_files(tmp_path):
    many = tmp_path / 'many'
    paths = write_synthetic_dataset(many, actions=tuple(range(1, 11)), samples_per_action=20,
                                    frames=16, seed=0)
    few = tmp_path / 'few'
    few.mkdir()
    for path in paths[::4]:
        shutil.copyfile(path, few / path.name)
    small = peak_generation_memory(config(tmp_path / 'out_few', few))
    large = peak_generation_memory(config(tmp_path / 'out_many', many))
    extra_output = (len(paths) - len(paths[::4])) * 3 * 300 * 25 * 2 * 4    # 27 MB more written
    assert large - small < 0.3 * extra_output, (small, large)


def test_shrinking_keeps_a_valid_npy_across_digit_counts(tmp_path):
    path = tmp_path / 'rows.npy'
    array = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32, shape=(1000, 3),
                                      version=(1, 0))
    array[:] = np.arange(3000).reshape(1000, 3)
    del array
    generation.arrays.drop_rows_after(path, 999)
    loaded = np.load(path)
    assert loaded.shape == (999, 3) and loaded[-1, -1] == 2996
    assert path.stat().st_size == 128 + 999 * 3 * 4


def test_generation_never_imports_paddle():
    code = ('import sys; sys.path.insert(0, {!r}); import generator, reader; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] == "paddle"))')
    result = run_python('-c', code.format(str(REPO)), check=True)
    assert result.stdout.strip() == '[]'


@pytest.mark.skipif('fork' not in multiprocessing.get_all_start_methods(),
                    reason='workers must inherit the patched writer')
def test_a_full_disk_is_a_one_line_error(tmp_path, real_skeleton_dir, monkeypatch):
    def full(*args):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(generation.samples, 'write_at', full)   # inherited by the forked workers
    with pytest.raises(GenerateError, match='No space left on device.*root_folder'):
        generate(config(tmp_path, real_skeleton_dir), progress=False)
    assert not list((tmp_path / 'original' / 'ntu-xsub').glob('*.npy*'))



def _square(x):
    return x * x


def test_generation_workers_are_joined_not_terminated(monkeypatch):
    """A finished pool's workers exit on their own; terminate (SIGTERM to any worker still
    alive, which deadlocks one that inherited Paddle's handler when it lands inside malloc)
    is for failures only. multiprocessing.Pool's own `with` would terminate here."""
    import multiprocessing.pool
    from generation.workers import worker_pool
    terminated, terminate = [], multiprocessing.pool.Pool.terminate

    def noted(pool):
        terminated.append(pool)
        terminate(pool)
    monkeypatch.setattr(multiprocessing.pool.Pool, 'terminate', noted)
    with worker_pool(2) as pool:
        assert pool.map(_square, range(8)) == [x * x for x in range(8)]
    assert not terminated
    with pytest.raises(ZeroDivisionError), worker_pool(2) as pool:
        pool.map(_square, range(8))
        1 / 0
    assert len(terminated) == 1


@pytest.mark.parametrize('workers', [-3, 'x', 1.5])
def test_a_bad_worker_count_is_a_config_error_before_any_file_is_read(tmp_path, workers):
    """-gd reads num_workers as training does: a whole number of processes, 0 or more (a bad
    one was multiprocessing's traceback after every file was scanned)."""
    from utils.errors import ConfigError
    cfg = config_of('2001', ntu60_path=str(tmp_path / 'absent'), root_folder=str(tmp_path),
                    num_workers=workers)
    with pytest.raises(ConfigError, match=rf"num_workers is {workers!r}: give 0 or more worker "
                                          r"processes, or leave it empty \(-gd: one a core\)"):
        generate(cfg, progress=False)
