"""Which bodies a sample keeps (the official energy-based selection), and the frames and bodies
of a sample; shared by every source through reader/pose.py's pose_sample."""
import numpy as np

MAX_FRAME = 300
MAX_BODY = 2


def body_energy(bodies):
    """(M, T, V, 3) -> (M,): per body, over its non-empty frames, the sum of the standard
    deviations of x, y and z (all joints together); 0 for a body without frames."""
    # Sums over a body's present frames are products with a 0/1 frame weight on (M, T, V*3)
    # rows: much faster in numpy than reductions over short trailing axes.
    rows = bodies.reshape(bodies.shape[0], bodies.shape[1], -1).astype(np.float64)
    present = rows.any(axis=2)                                              # M, T
    weight = present[:, None, :].astype(np.float64)                        # M, 1, T
    count = np.maximum(present.sum(axis=1), 1)[:, None] * bodies.shape[2]  # values per coordinate
    mean = _per_coordinate(weight @ rows) / count                           # M, 3
    squares = (rows.reshape(bodies.shape) - mean[:, None, None]) ** 2
    variance = _per_coordinate(weight @ squares.reshape(rows.shape)) / count
    return np.where(present.any(axis=1), np.sqrt(variance).sum(axis=1), 0.0)


def _per_coordinate(sums):
    """(M, 1, V*3) sums -> (M, 3): added up over the joints."""
    return sums.reshape(len(sums), -1, 3).sum(axis=1)


def select_bodies(bodies, max_body=MAX_BODY):
    """The `max_body` most energetic bodies, highest first (ties keep slot order), zero-filled
    when the file has fewer: (max_body, T, V, 3)."""
    order = np.argsort(-body_energy(bodies), kind='stable')[:max_body]
    chosen = np.zeros((max_body,) + bodies.shape[1:], np.float32)
    chosen[:len(order)] = bodies[order]
    return chosen
