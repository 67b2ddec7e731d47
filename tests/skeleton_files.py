"""Hand-made NTU .skeleton texts for the reader and generator tests: good ones and each kind of
bad file the generator must skip."""
import numpy as np

INFO_LINE = '72057594037931101 0 1 1 1 1 0 0.02764709 0.05745083 2'


def ntu_text(frames, joints=25):
    """NTU text of `frames`: a list (one per frame) of lists of (joints, 3) coordinate arrays."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body in bodies:
            lines += [INFO_LINE, str(joints)]
            lines += [f'{x:.7g} {y:.7g} {z:.7g} 256 212 960 540 0 0 0 0 2' for x, y, z in body]
    return '\n'.join(lines) + '\n'


def body(seed, scale=0.1):
    """A distinct, non-zero (25, 3) body around 3 m from the camera."""
    rng = np.random.RandomState(seed)
    return rng.normal(0, scale, (25, 3)) + [0.0, 0.2, 3.0]


def moving_bodies(num_frames, amplitude, seed=0):
    """One body per frame that swings with the given amplitude (so its energy grows with it)."""
    swing = amplitude * np.sin(np.arange(num_frames) / 3.0)
    base = body(seed)
    return [base + [s, 0, 0] for s in swing]


def good_text(num_frames=5, seed=0):
    return ntu_text([[b] for b in moving_bodies(num_frames, 0.1, seed)])


def bad_texts():
    """name -> (text of a bad file, the reason the reader must give, as a regex)."""
    good = good_text(4)
    lines = good.splitlines()
    return {
        'truncated': ('\n'.join(lines[:40]) + '\n', r'truncated at line 41'),
        'cut_mid_line': ('\n'.join(lines[:-1] + [lines[-1][:12]]), r'truncated at line 113'),
        'non_numeric': ('\n'.join(lines[:8] + ['abc ' + lines[8].split(' ', 1)[1]] + lines[9:]),
                        r"non-numeric value 'abc' at line 9"),
        'joint_count': (ntu_text([[body(0)[:24]]], joints=24), r'joint count 24 at line 4'),
        'zero_frames': ('0\n', r'zero frames'),
        'no_body': ('3\n0\n0\n0\n', r'no body in any frame'),
        'empty_file': ('', r'truncated at line 1'),
    }
