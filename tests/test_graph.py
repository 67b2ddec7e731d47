import numpy as np
import pytest

from dataset.graphs import Graph


@pytest.mark.parametrize('name,num_node', [('ntu', 25), ('kinetics', 18), ('sysu', 20),
                                           ('ucla', 20), ('cmu', 26), ('h36m', 20),
                                           ('coco', 17)])
def test_layouts_are_consistent(name, num_node):
    graph = Graph(name)
    assert graph.A.shape == (11, num_node, num_node)
    # every joint lies in exactly one part, and every bone starts at a neighbour (or itself)
    assert sorted(np.concatenate(graph.parts).tolist()) == list(range(num_node))
    neighbours = graph.hop_dis <= 1
    assert all(neighbours[j, graph.connect_joint[j]] for j in range(num_node))
    # columns of the full adjacency sum to one (A D^-1 normalisation)
    np.testing.assert_allclose(graph.A.sum(axis=(0, 1)), 1.0, atol=1e-9)


def test_ntu_facts():
    graph = Graph('ntu')
    assert graph.connect_joint[1] == 1           # spine middle pairs with itself
    assert graph.connect_joint[0] == 1 and graph.connect_joint[22] == 7
    assert graph.hop_dis[0, 1] == 1 and graph.hop_dis[0, 20] == 2
    # hand tip to foot is beyond 10 hops, so those columns are normalised by fewer joints
    assert np.isinf(graph.hop_dis[21, 19])
    A = graph.A
    assert A[0, 0, 0] == pytest.approx(1 / 25)
    assert A[1, 1, 0] == pytest.approx(1 / 25) and A[2, 0, 0] == 0


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown skeleton layout 'kitchen'; known layouts: cmu"):
        Graph('kitchen')


def test_coco_facts():
    """COCO-17, 0-based: the nose (0) is the centre and its own bone origin; every other bone
    starts at the neighbour one hop nearer the nose; the parts are arms, legs and head."""
    graph = Graph('coco')
    edges = {(15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8),
             (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)}
    assert set(graph.edge) == edges
    assert graph.connect_joint[0] == 0
    for joint in range(1, 17):
        origin = graph.connect_joint[joint]
        assert graph.hop_dis[joint, origin] == 1 and graph.hop_dis[0, origin] == \
            graph.hop_dis[0, joint] - 1
    assert [part.tolist() for part in graph.parts] == [[5, 7, 9], [6, 8, 10], [11, 13, 15],
                                                       [12, 14, 16], [0, 1, 2, 3, 4]]
    assert graph.hop_dis[15, 16] == 8 and graph.hop_dis[9, 0] == 3   # ankles through the nose
    assert np.isfinite(graph.hop_dis).all()   # every joint within 10 hops of every other
    assert graph.A[0, 0, 0] == pytest.approx(1 / 17)


@pytest.mark.parametrize('layer_type', ['Basic', 'Bottleneck', 'Sep', 'SG'])
@pytest.mark.parametrize('att_type', ['stja', 'pa', 'ca', 'fa', 'ja'])
def test_every_model_configuration_trains_a_step_on_the_coco_graph(layer_type, att_type):
    import paddle
    import paddle.nn.functional as F

    import model
    from utils.config import load_config
    graph = Graph('coco')
    args = dict(load_config('2001')['model_args'], layer_type=layer_type, att_type=att_type)
    net = model.create(args.pop('model_type', 'EfficientGCN-B0'), args.pop('act_type'),
                       args.pop('block_args'), args.pop('scale_args'),
                       data_shape=[3, 6, 16, graph.num_node, 2], num_class=5,
                       A=paddle.to_tensor(graph.A, dtype='float32'), parts=graph.parts, **args)
    x = paddle.randn([2, 3, 6, 16, graph.num_node, 2])
    logits, feature = net(x)
    assert logits.shape == [2, 5] and feature.shape[3] == 17
    F.cross_entropy(logits, paddle.to_tensor([1, 3])).backward()
    assert all(p.grad is not None for p in net.parameters() if not p.stop_gradient)


def test_centre_joints():
    """The J input is relative to the spine middle for NTU (as the checkpoints were trained) and
    to the nose for COCO-17."""
    assert Graph('ntu').center == 1 and Graph('coco').center == 0


def test_kinetics_is_openpose_18_as_st_gcn_builds_it():
    """ST-GCN's `openpose` layout (net/utils/graph.py), 0-based: 0 nose, 1 neck, 2-4 right
    shoulder/elbow/wrist, 5-7 left, 8-10 right hip/knee/ankle, 11-13 left, 14-15 eyes, 16-17
    ears; the neck is the centre."""
    graph = Graph('kinetics')
    st_gcn_edges = {(4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8),
                    (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15),
                    (16, 14)}
    assert {tuple(sorted(edge)) for edge in graph.edge} == \
        {tuple(sorted(edge)) for edge in st_gcn_edges}
    assert graph.num_node == 18 and graph.center == 1
    assert graph.connect_joint[4] == 3 and graph.connect_joint[16] == 14


def test_a_dataset_name_names_its_sources_graph():
    for dataset, layout in (('ntu-xsub', 'ntu'), ('ntu-xset120', 'ntu'),
                            ('kinetics-skeleton', 'kinetics')):
        assert Graph(dataset).layout == layout
        np.testing.assert_array_equal(Graph(dataset).A, Graph(layout).A)
    with pytest.raises(ValueError, match="unknown skeleton layout 'pose-mine'"):
        Graph('pose-mine')   # pose datasets name their layout in the config
