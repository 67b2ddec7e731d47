"""The CPU backend: faster forms of the model's layers for dygraph on the CPU, the same values.

    from model import cpu_backend
    cpu_backend.install(net)        # training; and for evaluation, on model.reparameterize(net)

The engine installs it when it runs on the CPU. It swaps computations, never parameters: a
checkpoint saved from an installed model is the plain model's. The forms (forms.py) use Paddle
operations with hand-written backwards (fast_ops.py) and small C kernels (kernels.c, built once
per machine with the system compiler and called through ctypes: native.py, fused_ops.py).
Without a C compiler, or with EFFICIENTGCN_NO_C=1, install() leaves the plain model. GPUs run
the plain model.
"""
import logging

from model.backend import install_forms

from . import native
from .forms import FORMS

logger = logging.getLogger(__name__)


def install(net):
    """Put the CPU forms on every layer of net they know (the other layers keep their own
    forward); returns whether it did (False: no C kernels here, the plain model runs)."""
    if not native.available():
        logger.info('CPU backend not installed (no C kernels: EFFICIENTGCN_NO_C is set or no C '
                    'compiler was found): the plain model runs')
        return False
    count = install_forms(net, FORMS)
    for act in sorted({type(layer.act).__name__ for layer in net.sublayers()
                       if native.activation_code(getattr(layer, 'act', None)) is None}):
        logger.info('the C kernels have no %s: layers with that activation run it with '
                    "Paddle's operations", act)
    logger.debug('CPU backend: %d layers', count)
    return True
