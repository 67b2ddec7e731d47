import numpy as np
import pytest

from dataset.graphs import Graph


@pytest.mark.parametrize('name,num_node', [('ntu-xsub', 25), ('kinetics', 18), ('sysu', 20),
                                           ('ucla', 20), ('cmu', 26), ('h36m', 20)])
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
    graph = Graph('ntu-xview')
    assert graph.connect_joint[1] == 1           # spine middle pairs with itself
    assert graph.connect_joint[0] == 1 and graph.connect_joint[22] == 7
    assert graph.hop_dis[0, 1] == 1 and graph.hop_dis[0, 20] == 2
    # hand tip to foot is beyond 10 hops, so those columns are normalised by fewer joints
    assert np.isinf(graph.hop_dis[21, 19])
    A = graph.A
    assert A[0, 0, 0] == pytest.approx(1 / 25)
    assert A[1, 1, 0] == pytest.approx(1 / 25) and A[2, 0, 0] == 0


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown dataset'):
        Graph('kitchen-xsub')
