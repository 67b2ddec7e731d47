"""reader.skeleton: the .skeleton parser. Every test runs with the C line scanner and with the
numpy path that replaces it where no C compiler is found."""
import re

import numpy as np
import pytest

from reader import SkeletonError, native, read_skeleton
from skeleton_files import bad_texts, body, good_text, ntu_text


@pytest.fixture(autouse=True, params=['C scanner', 'numpy'])
def parser(request, monkeypatch):
    if request.param == 'numpy':
        monkeypatch.setattr(native, 'line_scanner', lambda: None)
    elif native.line_scanner() is None:
        pytest.skip('the C line scanner cannot be built here (no C compiler?)')
    return request.param


def plain_read(path):
    """The format read the obvious way, line by line: the reference for the fast parser."""
    with open(path) as f:
        lines = iter(f.read().splitlines())
    frames = []
    for _ in range(int(next(lines))):
        bodies = []
        for _ in range(int(next(lines))):
            next(lines)
            bodies.append([[float(v) for v in next(lines).split()[:3]]
                           for _ in range(int(next(lines)))])
        frames.append(bodies)
    out = np.zeros((max(len(b) for b in frames), len(frames), 25, 3), np.float32)
    for t, bodies in enumerate(frames):
        for m, joints in enumerate(bodies):
            out[m, t] = joints
    return out


def write(tmp_path, text, name='S001C001P001R001A001.skeleton'):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_real_files_match_a_plain_reading(real_skeleton_dir):
    for path in sorted(real_skeleton_dir.glob('*.skeleton')):
        expected = plain_read(path)
        got = read_skeleton(path)
        assert got.dtype == np.float32
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_real_file_shape_and_first_joint(real_skeleton_dir):
    one = read_skeleton(real_skeleton_dir / 'S001C001P001R001A001.skeleton')
    assert one.shape == (1, 103, 25, 3)
    np.testing.assert_array_equal(one[0, 0, 0], np.float32([0.2181153, 0.1725972, 3.785547]))
    two = read_skeleton(real_skeleton_dir / 'S001C001P001R001A050.skeleton')
    assert two.shape == (2, 74, 25, 3)
    assert two.any(axis=(1, 2, 3)).all()


def test_body_slot_is_position_within_frame(tmp_path):
    a, b = body(1), body(2)
    path = write(tmp_path, ntu_text([[a], [b, a], []]))
    got = read_skeleton(path)
    assert got.shape == (2, 3, 25, 3)
    np.testing.assert_allclose(got[0, 0], a, atol=1e-6)
    np.testing.assert_allclose(got[0, 1], b, atol=1e-6)   # b comes first in frame 1
    np.testing.assert_allclose(got[1, 1], a, atol=1e-6)
    assert not got[1, 0].any() and not got[:, 2].any()


def test_more_than_four_bodies_in_a_frame(tmp_path):
    bodies = [body(i) for i in range(6)]
    got = read_skeleton(write(tmp_path, ntu_text([bodies, bodies[:1]])))
    assert got.shape == (6, 2, 25, 3)
    np.testing.assert_allclose(got[5, 0], bodies[5], atol=1e-6)


def test_crlf_blank_lines_and_extra_spaces_read_the_same(tmp_path):
    text = good_text(6)
    expected = read_skeleton(write(tmp_path, text))
    lines = text.splitlines()
    messy = [('  ' + line.replace(' ', ' \t ') + '  ') for line in lines]
    messy.insert(5, '')
    messy.insert(0, '   ')
    messy_text = '\r\n'.join(messy) + '\r\n\r\n'
    np.testing.assert_array_equal(read_skeleton(write(tmp_path, messy_text, 'b.skeleton')),
                                  expected)


def test_bad_line_numbers_count_blank_lines(tmp_path):
    lines = good_text(2).splitlines()
    lines[3] = '24'                          # the joint count of the first body
    text = '\n\n' + '\n'.join(lines)         # two blank lines first: it is line 6
    with pytest.raises(SkeletonError, match='joint count 24 at line 6'):
        read_skeleton(write(tmp_path, text))


@pytest.mark.parametrize('kind', sorted(bad_texts()))
def test_bad_file_raises_a_short_reason(tmp_path, kind):
    text, reason = bad_texts()[kind]
    path = write(tmp_path, text)
    with pytest.raises(SkeletonError) as error:
        read_skeleton(path)
    assert re.search(reason, error.value.reason), error.value.reason
    assert error.value.path == str(path)
    assert isinstance(error.value, ValueError)


def test_missing_file_raises_skeleton_error(tmp_path):
    with pytest.raises(SkeletonError, match='cannot read'):
        read_skeleton(tmp_path / 'absent.skeleton')


def test_non_finite_value_is_refused(tmp_path):
    lines = good_text(2).splitlines()
    lines[4] = 'nan ' + lines[4].split(' ', 1)[1]
    with pytest.raises(SkeletonError, match="non-numeric value 'nan' at line 5"):
        read_skeleton(write(tmp_path, '\n'.join(lines)))
