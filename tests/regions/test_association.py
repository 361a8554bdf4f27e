"""Association: known link graphs give known instances; cannot-link is never violated; point votes."""

from __future__ import annotations

import numpy as np
import pytest

from semlat.regions import association
from semlat.regions.association import AssociationSettings, Incidences, Links


def links(*edges: tuple[int, int, float]) -> Links:
    a, b, s = zip(*edges) if edges else ((), (), ())
    return Links(np.array(a, np.int64), np.array(b, np.int64), np.array(s, np.float64))


def same_partition(labels, expected) -> bool:
    labels, expected = np.asarray(labels), np.asarray(expected)
    return all(len(set(labels[expected == e])) == 1 for e in set(expected)) and len(set(labels)) == len(set(expected))


def test_known_link_graph_gives_known_instances():
    # three images: regions 0, 1, 6 in image 0, 2-3 in image 1, 4-5 in image 2; 6 has no link
    groups = np.array([0, 0, 1, 1, 2, 2, 0])
    graph = links((0, 2, 0.9), (2, 4, 0.8), (1, 3, 0.7), (3, 5, 0.95))
    labels = association.cluster(7, groups, [graph])
    assert same_partition(labels, [0, 1, 0, 1, 0, 1, 2])
    assert labels.tolist() == [0, 1, 0, 1, 0, 1, 2]  # numbered in order of first region
    assert association.cluster(3, np.array([0, 1, 2]), [Links.empty()]).tolist() == [0, 1, 2]  # no link: own instance


def test_cannot_link_refuses_the_weaker_merge():
    # 0 and 1 are in one image; 2 (another image) links to both: the stronger link wins
    labels = association.cluster(3, np.array([0, 0, 1]), [links((0, 2, 0.6), (1, 2, 0.9))])
    assert labels[1] == labels[2] != labels[0]
    # a chain through other images may not join two regions of one image either
    labels = association.cluster(4, np.array([0, 1, 2, 0]), [links((0, 1, 0.9), (1, 2, 0.8), (2, 3, 0.7))])
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_earlier_tiers_merge_first():
    groups = np.array([0, 1, 1])
    labels = association.cluster(3, groups, [links((0, 2, 0.3)), links((0, 1, 0.99))])
    assert labels[0] == labels[2] != labels[1]


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_never_violate_cannot_link(seed):
    rng = np.random.default_rng(seed)
    n = 300
    groups = rng.integers(0, 12, n)
    m = 3000
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    graph = Links(np.minimum(a, b)[keep], np.maximum(a, b)[keep], rng.uniform(size=keep.sum()))
    labels = association.cluster(n, groups, [graph])
    for label in np.unique(labels):
        members = groups[labels == label]
        assert len(members) == len(set(members.tolist()))
    assert len(np.unique(labels)) < n  # it did merge


def test_point_votes_link_regions_that_see_the_same_points():
    # image 0: regions 0 (points 0-9) and 1 (points 10-19); image 1: region 2 sees 0-9, region 3 sees 10-17 and 5
    point = np.r_[np.arange(20), np.arange(10), np.arange(10, 18), 5]
    region = np.r_[[0] * 10, [1] * 10, [2] * 10, [3] * 8, 3]
    image = np.r_[[0] * 20, [1] * 19]
    found = Incidences(point.astype(np.int64), region.astype(np.int64), image.astype(np.int64))
    result = association.point_links(found, AssociationSettings(min_votes=3, min_strength=0.3))
    edges = {(int(a), int(b)): float(s) for a, b, s in zip(result.a, result.b, result.strength)}
    assert set(edges) == {(0, 2), (1, 3)}  # the single vote of point 5 for 0~3 is dropped
    assert edges[(0, 2)] == pytest.approx(1.0)  # every point of 0 seen by image 1 falls in 2
    # 18, 19 are not seen by image 1 (no penalty); point 5 of region 3 falls outside region 1
    assert edges[(1, 3)] == pytest.approx(8 / 9)


def test_point_votes_are_the_same_in_small_chunks(monkeypatch):
    rng = np.random.default_rng(0)
    point = rng.integers(0, 200, 3000)
    image = rng.integers(0, 10, 3000)
    region = image * 5 + rng.integers(0, 5, 3000)
    found = Incidences(point, region, image)
    settings = AssociationSettings(min_votes=1, min_strength=0.0)
    whole = association.point_links(found, settings)
    monkeypatch.setattr(association, "CHUNK_PAIRS", 50)
    chunked = association.point_links(found, settings)
    for field in ("a", "b", "strength"):
        np.testing.assert_array_equal(getattr(whole, field), getattr(chunked, field))


def test_incidences_look_up_observation_pixels():
    first = np.zeros((4, 6), bool)
    first[:2, :3] = True
    second = np.zeros((4, 6), bool)
    second[1:, 2:] = True  # overlaps the first at (1, 2)
    xy = np.array([[0.5, 0.5], [2.9, 1.2], [5.5, 3.5], [7.0, 1.0], [4.0, 0.5]], np.float32)  # (x, y), COLMAP pixels
    found = association.incidences(iter([first, second]), [10, 11], 3, xy, np.arange(5))  # read once, in order
    held = found.region != association.NOWHERE
    assert sorted(zip(found.point[held].tolist(), found.region[held].tolist())) == [(0, 10), (1, 10), (1, 11), (2, 11)]
    assert sorted(found.point[~held].tolist()) == [0, 1, 2, 4]  # every observation inside the image: (7, 1) is not
    assert set(found.image.tolist()) == {3}


def test_a_region_does_not_link_strongly_to_the_one_region_that_holds_a_few_of_its_points():
    # image 0: region 0 sees points 0-19; image 1 observes them all but its one region 1 holds only 0-2
    point = np.r_[np.arange(20), np.arange(3), np.arange(20), np.arange(20)]
    region = np.r_[[0] * 20, [1] * 3, [association.NOWHERE] * 40]
    image = np.r_[[0] * 20, [1] * 3, [0] * 20, [1] * 20]
    found = Incidences(point.astype(np.int64), region.astype(np.int64), image.astype(np.int64))
    settings = AssociationSettings(min_votes=2, min_strength=0.3)
    assert len(association.point_links(found, settings)) == 0  # 3 of the 20 points image 1 observes: 0.15
    held = found.select(found.region != association.NOWHERE)  # without the rows of what image 1 observes
    assert association.point_links(held, settings).strength.tolist() == [1.0]


def test_appearance_links_are_mutual_nearest_neighbours_above_the_threshold():
    d = np.array([[1, 0, 0], [0, 1, 0], [0.99, 0.141, 0], [0, 0, 1], [0.0, 0.8, 0.6]], np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    image_of = np.array([0, 0, 1, 1, 1])
    found = association.appearance_links(d, image_of, [(0, 1)], threshold=0.75)
    assert sorted(zip(found.a.tolist(), found.b.tolist())) == [(0, 2), (1, 4)]
    assert len(association.appearance_links(d, image_of, [(0, 1)], threshold=0.995)) == 0


def test_image_pairs_are_bounded_per_view():
    pairs = association.image_pairs(10, 2)
    assert (0, 1) in pairs and (0, 2) in pairs and (4, 5) in pairs and (0, 9) not in pairs
    assert all(sum(i in p for p in pairs) <= 4 for i in range(10))
    similarity = np.eye(4)
    similarity[0, 3] = similarity[3, 0] = 0.9
    similarity[1, 2] = similarity[2, 1] = 0.8
    assert association.image_pairs(4, 1, similarity) == [(0, 3), (1, 2)]
    assert association.image_pairs(1, 5) == []
