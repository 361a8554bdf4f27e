"""The association's inputs from a workspace: the region index, observations in regions, links per level."""

from __future__ import annotations

import numpy as np

from semlat.regions import association
from semlat.regions.association import AssociationSettings
from semlat.stages.label import links as linking
from semlat.types import Region
from tests.stages.consistency.conftest import build_workspace


def two_level_workspace(tmp_path):
    """Two images; level 0 the whole image, level 1 its left and right halves."""
    ws = build_workspace(tmp_path, [[-1, -1], [-1, -1]], None)
    for record in ws.images():
        whole = np.ones((24, 32), bool)
        left = np.zeros((24, 32), bool)
        left[:, :16] = True
        regions = [Region.from_mask(0, whole, level=0), Region.from_mask(1, left, level=1), Region.from_mask(2, ~left, level=1)]
        ws.write_regions("test", record.image_id, regions)
    return ws


def test_region_index_orders_regions_and_groups_them_by_image_and_level(tmp_path):
    ws = two_level_workspace(tmp_path)
    index = linking.RegionIndex.build(ws, "test", ws.images())
    assert index.image.tolist() == [0, 0, 0, 1, 1, 1] and index.level.tolist() == [0, 1, 1, 0, 1, 1]
    assert index.start.tolist() == [0, 3, 6] and len(index) == 6
    groups = index.groups()
    assert groups[1] == groups[2] != groups[0] and len(set(groups.tolist())) == 4


def test_observations_land_in_regions_and_links_stay_within_a_level(tmp_path):
    ws = two_level_workspace(tmp_path)
    records = ws.images()
    index = linking.RegionIndex.build(ws, "test", records)
    rng = np.random.default_rng(0)
    left = np.stack([rng.uniform(0, 15.9, 10), rng.uniform(0, 24, 10)], axis=1)
    right = left + [16, 0]
    # the halves are swapped in the second image: its right half sees the first's left points
    observations = {0: (np.r_[left, right], np.arange(20)), 1: (np.r_[right, left], np.arange(20))}
    found = linking.observed_regions(ws, "test", records, index, observations.__getitem__)
    assert len(found.point) == 40 * 3  # every observation is in the whole image, in one half, and observed
    links = linking.point_links_per_level(found, index, AssociationSettings())
    pairs = sorted(zip(links.a.tolist(), links.b.tolist()))
    assert pairs == [(0, 3), (1, 5), (2, 4)]  # whole~whole, left~right, right~left; never across levels
    np.testing.assert_allclose(links.strength, 1.0)


def test_an_observation_belongs_to_the_region_that_shows_it_not_to_the_whole_under_it(tmp_path):
    ws = build_workspace(tmp_path, [[-1, -1], [-1, -1]], None)
    box = np.zeros((24, 32), bool)
    box[4:12, 4:12] = True
    for record in ws.images():  # one level: a whole image with a box painted over it
        ws.write_regions("test", record.image_id, [Region.from_mask(0, np.ones((24, 32), bool)), Region.from_mask(1, box)])
    records = ws.images()
    index = linking.RegionIndex.build(ws, "test", records)
    inside, outside = np.array([[6.5, 6.5], [9.5, 8.5]]), np.array([[20.5, 20.5], [25.5, 3.5]])
    xy = np.r_[inside, outside]
    found = linking.observed_regions(ws, "test", records, index, lambda _: (xy, np.arange(4)))
    held = sorted(zip(found.image.tolist(), found.point.tolist(), found.region.tolist()))
    held = [row for row in held if row[2] != association.NOWHERE]
    assert [region for _, _, region in held] == [1, 1, 0, 0, 3, 3, 2, 2]  # points 0-1 in the box only, 2-3 in the whole


def test_appearance_links_per_level_map_back_to_global_regions(tmp_path):
    ws = two_level_workspace(tmp_path)
    index = linking.RegionIndex.build(ws, "test", ws.images())
    vectors = np.eye(6, dtype=np.float32)[[0, 1, 2, 0, 2, 1]]
    links = linking.appearance_links_per_level(vectors, index, [(0, 1)], threshold=0.9)
    assert sorted(zip(links.a.tolist(), links.b.tolist())) == [(0, 3), (1, 5), (2, 4)]
