"""Writes small generated-format datasets (what -gd produces) for feeder and training tests."""
import pickle
from pathlib import Path

import numpy as np


def write_generated_split(folder, phase, labels, frames=300, seed=0):
    """{phase}_data.npy (N, 3, frames, 25, 2) whose motion depends on the label, and its .pkl."""
    rng = np.random.RandomState(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    t = np.arange(frames)[None, :, None]
    data = rng.normal(0, 0.05, size=(n, 3, frames, 25, 2)).astype(np.float32)
    for i, label in enumerate(labels):
        joints = (np.arange(25) * (label + 1)) % 25
        data[i, label % 3, :, :, 0] += np.sin(t[0] * 0.2 * (label + 1) + joints[None, :])
    data[:, :, :, :, 1] = 0   # second body absent, as in most NTU samples
    np.save(folder / f'{phase}_data.npy', data)
    names = [f'S001C001P{p:03d}R001A{label + 1:03d}.skeleton' for p, label in enumerate(labels)]
    with open(folder / f'{phase}_label.pkl', 'wb') as f:
        pickle.dump((names, list(labels), [frames] * n), f)
    return data

