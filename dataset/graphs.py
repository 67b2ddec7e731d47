"""Skeleton graphs: hop-partitioned adjacency, bone origins and body parts.

`Graph(layout).A` has shape (max_hop + 1, V, V): slice k keeps the entries of the
column-normalised "within max_hop hops" adjacency whose hop distance is exactly k,
as ST-GCN builds it. The model uses the first `max_graph_distance + 1` slices.
"""
import numpy as np

# Each layout: number of joints, 1-based undirected edges, 1-based joint each bone
# starts from (the bone of joint j is x[j] - x[connect_joint[j]]), 1-based parts
# (left arm, right arm, left leg, right leg, torso), and the 1-based centre joint that the
# J input's relative coordinates are taken from (the official feeder's joint 2, the spine
# middle, for NTU: the published checkpoints were trained so; 2 for the other layouts too).
_LAYOUTS = {
    'ntu': dict(
        num_node=25,
        edges=[(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
               (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
               (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)],
        connect_joint=[2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19,
                       2, 23, 8, 25, 12],
        parts=[[5, 6, 7, 8, 22, 23], [9, 10, 11, 12, 24, 25], [13, 14, 15, 16],
               [17, 18, 19, 20], [1, 2, 3, 4, 21]],
        center=2,
    ),
    # OpenPose-18, as ST-GCN's `openpose` layout (Kinetics-skeleton): 1 nose, 2 neck, 3-5 right
    # shoulder, elbow, wrist, 6-8 left, 9-11 right hip, knee, ankle, 12-14 left, 15-16 right and
    # left eye, 17-18 right and left ear; the centre is the neck.
    'kinetics': dict(
        num_node=18,
        edges=[(5, 4), (4, 3), (8, 7), (7, 6), (14, 13), (13, 12), (11, 10), (10, 9), (12, 6),
               (9, 3), (6, 2), (3, 2), (1, 2), (16, 1), (15, 1), (18, 16), (17, 15)],
        connect_joint=[2, 2, 2, 3, 4, 2, 6, 7, 3, 9, 10, 6, 12, 13, 1, 1, 15, 16],
        parts=[[6, 7, 8], [3, 4, 5], [12, 13, 14], [9, 10, 11], [1, 2, 15, 16, 17, 18]],
        center=2,
    ),
    # Kinect v1 20-joint layout (SYSU-3D and N-UCLA share it).
    'sysu': dict(
        num_node=20,
        edges=[(1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (7, 8), (3, 9), (9, 10), (10, 11),
               (11, 12), (1, 13), (13, 14), (14, 15), (15, 16), (1, 17), (17, 18), (18, 19),
               (19, 20)],
        connect_joint=[2, 2, 2, 3, 3, 5, 6, 7, 3, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19],
        parts=[[5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20], [1, 2, 3, 4]],
        center=2,
    ),
    'cmu': dict(
        num_node=26,
        edges=[(1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (1, 9), (5, 9), (9, 10), (10, 11),
               (11, 12), (12, 13), (13, 14), (12, 15), (15, 16), (16, 17), (17, 18), (18, 19),
               (17, 20), (12, 21), (21, 22), (22, 23), (23, 24), (24, 25), (23, 26)],
        connect_joint=[9, 1, 2, 3, 9, 5, 6, 7, 10, 10, 10, 11, 12, 13, 12, 15, 16, 17, 18, 17,
                       12, 21, 22, 23, 24, 23],
        parts=[[15, 16, 17, 18, 19, 20], [21, 22, 23, 24, 25, 26], [1, 2, 3, 4], [5, 6, 7, 8],
               [9, 10, 11, 12, 13, 14]],
        center=2,
    ),
    'h36m': dict(
        num_node=20,
        edges=[(1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (1, 9), (5, 9), (9, 10), (10, 11),
               (11, 12), (10, 13), (13, 14), (14, 15), (15, 16), (10, 17), (17, 18), (18, 19),
               (19, 20)],
        connect_joint=[9, 1, 2, 3, 9, 5, 6, 7, 10, 10, 10, 11, 10, 13, 14, 15, 10, 17, 18, 19],
        parts=[[13, 14, 15, 16], [17, 18, 19, 20], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]],
        center=2,
    ),
    # COCO-17 keypoints (2D poses of HRNet and other top-down estimators, as mmaction2 and pyskl
    # store them): 1 nose, 2-3 eyes, 4-5 ears, 6-7 shoulders, 8-9 elbows, 10-11 wrists, 12-13
    # hips, 14-15 knees, 16-17 ankles (left before right); the centre is the nose, and each
    # bone runs from the joint's neighbour towards it.
    'coco': dict(
        num_node=17,
        edges=[(16, 14), (14, 12), (17, 15), (15, 13), (12, 6), (13, 7), (10, 8), (8, 6), (11, 9),
               (9, 7), (6, 1), (7, 1), (2, 1), (4, 2), (3, 1), (5, 3)],
        connect_joint=[1, 1, 1, 2, 3, 1, 1, 6, 7, 8, 9, 6, 7, 12, 13, 14, 15],
        parts=[[6, 8, 10], [7, 9, 11], [12, 14, 16], [13, 15, 17], [1, 2, 3, 4, 5]],
        center=1,
    ),
}
_LAYOUTS['ucla'] = _LAYOUTS['sysu']
LAYOUT_NAMES = tuple(sorted(_LAYOUTS))


class Graph:
    """Graph of a skeleton layout, e.g. `Graph('ntu')` (a dataset's layout: dataset_settings)."""

    def __init__(self, layout_name, max_hop=10):
        layout_name = _layout_of(layout_name)
        if layout_name not in _LAYOUTS:
            raise ValueError(f'unknown skeleton layout {layout_name!r}; '
                             f'known layouts: {", ".join(sorted(_LAYOUTS))}')
        layout = _LAYOUTS[layout_name]
        self.layout = layout_name
        self.max_hop = max_hop
        self.num_node = layout['num_node']
        self.edge = [(i - 1, j - 1) for i, j in layout['edges']]
        self.connect_joint = np.array(layout['connect_joint']) - 1
        self.parts = [np.array(part) - 1 for part in layout['parts']]
        self.center = layout['center'] - 1
        self.hop_dis = hop_distance(self.num_node, self.edge, max_hop)
        self.A = hop_partitioned_adjacency(self.hop_dis, max_hop)


def _layout_of(name):
    """A layout's name as given, or the fixed layout of a dataset's source, so that a dataset
    name (`Graph('ntu-xsub')`) names its graph too."""
    if name in _LAYOUTS:
        return name
    from .sources import SOURCES
    source = SOURCES.get(str(name).split('-')[0])
    return source.layout if source is not None and source.layout else name


def hop_distance(num_node, edges, max_hop):
    """Shortest hop count between joints; np.inf beyond max_hop."""
    link = np.eye(num_node)
    for i, j in edges:
        link[i, j] = link[j, i] = 1
    hop_dis = np.full((num_node, num_node), np.inf)
    reach = [np.linalg.matrix_power(link, d) > 0 for d in range(max_hop + 1)]
    for d in range(max_hop, -1, -1):  # nearer distances overwrite farther ones
        hop_dis[reach[d]] = d
    return hop_dis


def hop_partitioned_adjacency(hop_dis, max_hop):
    """Column-normalise the within-max_hop adjacency (A D^-1), then split it by hop."""
    adjacency = (hop_dis <= max_hop).astype(np.float64)
    normalised = adjacency / adjacency.sum(axis=0, keepdims=True)
    A = np.zeros((max_hop + 1,) + hop_dis.shape)
    for hop in range(max_hop + 1):
        mask = hop_dis == hop
        A[hop][mask] = normalised[mask]
    return A
