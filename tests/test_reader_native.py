"""reader.native: the C line scanner behind the fast parse, and its build."""
import math
import os
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from helpers import run_python
from reader import native

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scan():
    scanner = native.line_scanner()
    if scanner is None:
        pytest.skip('the C line scanner cannot be built here (no C compiler?)')
    return scanner


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """line_scanner() built from scratch into an empty cache folder."""
    monkeypatch.setenv('EFFICIENTGCN_CACHE', str(tmp_path))
    native.line_scanner.cache_clear()
    yield tmp_path
    native.line_scanner.cache_clear()


NUMBERS = ['0', '-0.5', '+3', '1.', '.25', '0.2181153', '-1.733645E-05', '3.785547e+02',
           '123456789012345678', '0.00000000000000000000001234', '0.1234567890123456789']
NOT_NUMBERS = ['-', '.', 'abc', '1.2.3', '1e', 'nan', 'inf', '-Infinity', '0x10', '1,5', '2-3',
               '1e999']


def test_numbers_read_exactly_as_float_does(scan):
    text = '\n'.join(f'{a} {b} {c} tail' for a, b, c in zip(NUMBERS, NUMBERS[1:], NUMBERS[2:]))
    tokens, values = scan(text.encode())
    assert tokens.tolist() == [4] * (len(NUMBERS) - 2)
    expected = [[float(x) for x in row] for row in zip(NUMBERS, NUMBERS[1:], NUMBERS[2:])]
    assert values.tolist() == expected   # bit for bit


@pytest.mark.parametrize('token', NOT_NUMBERS)
def test_anything_else_reads_as_nan(scan, token):
    tokens, values = scan(f'1 {token} 2\n'.encode())
    assert tokens.tolist() == [3]
    assert values[0, 0] == 1 and math.isnan(values[0, 1]) and values[0, 2] == 2


def test_token_counts_blank_lines_and_line_ends(scan):
    text = b'25\r\n\n  7 \t 8\r\n1 2 3 4 5 6\n\n1 2 3'
    tokens, values = scan(text)
    assert tokens.tolist() == [1, 0, 2, 4, 0, 3]   # 4 stands for 4 or more
    np.testing.assert_array_equal(values[2, :2], [7, 8])
    np.testing.assert_array_equal(values[5], [1, 2, 3])


def test_many_short_lines_are_all_counted(scan):
    text = b'\n' * 5000 + b'1'   # far more lines than the first guess of room for them
    tokens, values = scan(text)
    assert len(tokens) == 5001 and tokens[-1] == 1 and values[-1, 0] == 1


def test_built_once_into_the_cache_folder(fresh_build):
    if shutil.which('cc') is None and shutil.which('gcc') is None:
        pytest.skip('no C compiler here')
    assert native.line_scanner() is not None
    built = sorted(p.name for p in fresh_build.iterdir())
    assert len(built) == 1 and built[0].startswith('skeleton_lines-') and \
        built[0].endswith('.so')   # no half-built leftovers


def test_a_broken_cached_library_is_rebuilt(fresh_build):
    """A cached file that will not load (e.g. cut short) is built again, in a fresh process
    (this one keeps the library it loaded)."""
    if shutil.which('cc') is None and shutil.which('gcc') is None:
        pytest.skip('no C compiler here')
    assert native.line_scanner() is not None
    built = next(fresh_build.iterdir())
    broken = fresh_build / 'broken'
    broken.write_bytes(b'not a shared library')
    broken.replace(built)   # a new file: this process still maps the old one
    check = ('from reader import native; s = native.line_scanner(); '
             'print(s is not None and s(b"1 2 3")[0].tolist() == [3])')
    result = run_python('-c', check, env={**os.environ, 'EFFICIENTGCN_CACHE': str(fresh_build)})
    assert result.stdout.strip() == 'True', result.stderr
    assert built.read_bytes() != b'not a shared library'


def test_without_a_compiler_it_is_none(fresh_build, monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    monkeypatch.setattr(sysconfig, 'get_config_var', lambda name: None)
    assert native.line_scanner() is None
    assert list(fresh_build.iterdir()) == []


def test_switched_off_by_the_environment(fresh_build, monkeypatch):
    monkeypatch.setenv('EFFICIENTGCN_NO_C', '1')
    assert native.line_scanner() is None
