"""Models whose weights and statistics are far from their initial values, for every test that
compares two computations of the same network (the fold, the CPU backend, the exported graphs),
and checkpoints whose every value is told apart from an initial one (the loading tests).

A freshly initialised model makes such tests unable to fail: untrained batch norms are
identities (mean 0, variance 1, affine 1 and 0), biases are 0, the edge masks 1, and the
classifier's normal(0, 0.001) init keeps the logits near 3e-4, below a 1e-4 tolerance's reach.
"""
import numpy as np
import paddle.nn as nn

from model.nets import EfficientGCN_Classifier


def randomise(net, seed=0):
    """net with biases, edge masks, BatchNorm affines and statistics drawn at random, and the
    classifier's weights large enough that the logits are of order 1; returns net."""
    rng = np.random.RandomState(seed)

    def draw(value, low, high):
        value.set_value(rng.uniform(low, high, value.shape).astype(np.float32))

    for name, p in net.named_parameters():
        if name.endswith('.bias'):
            draw(p, -0.5, 0.5)
        elif name.endswith('.edge') or name.endswith('.weight') and p.ndim == 1:
            draw(p, 0.5, 1.5)   # edge masks and BatchNorm scales
    for layer in net.sublayers(include_self=True):
        if isinstance(layer, nn.BatchNorm2D):
            draw(layer._mean, -0.5, 0.5)
            draw(layer._variance, 0.5, 1.5)
        elif isinstance(layer, EfficientGCN_Classifier):
            draw(layer.fc.weight, -0.2, 0.2)
    return net


def random_state(net, seed=0):
    """Every entry of net's state (weights, edge masks, batch-norm statistics) drawn from
    uniform(0.5, 1.5), none of them an initial value: for tests that check what was loaded
    where. Returns the state as numpy arrays."""
    rng = np.random.RandomState(seed)
    for value in net.state_dict().values():
        value.set_value(rng.uniform(0.5, 1.5, value.shape).astype(np.float32))
    return {key: value.numpy() for key, value in net.state_dict().items()}


def delete_first_batch_norm(monkeypatch):
    """model.reparameterize with its first batch norm left out of the fold (scale 1, shift 0), as
    an export bug would; returns the list of the batch norms folded since (monkeypatch undoes
    it)."""
    import importlib
    fold = importlib.import_module('model.reparameterize')   # the module, not the function
    affine, calls = fold.batch_norm_affine, []

    def first_deleted(bn):
        calls.append(bn)
        scale, shift = affine(bn)
        return (scale * 0 + 1, shift * 0) if len(calls) == 1 else (scale, shift)
    monkeypatch.setattr(fold, 'batch_norm_affine', first_deleted)
    return calls
