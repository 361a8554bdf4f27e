import numpy as np

from semlat import rle
from semlat.types import FeatureKey, Region, paint_order, shown_masks, visible_order


def test_a_region_derives_its_box_and_area_from_its_mask():
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:7] = True
    from_mask = Region.from_mask(3, mask, label=2)
    from_rle = Region(3, rle.encode(mask), label=2)
    assert from_mask == from_rle
    assert from_rle.bbox == (2.0, 1.0, 5.0, 3.0) and from_rle.area == 15
    assert (from_rle.mask() == mask).all()


def test_stored_box_and_area_are_kept_as_given():
    region = Region(0, rle.encode(np.ones((2, 2), bool)), bbox=(0.0, 0.0, 2.0, 2.0), area=4)
    assert region.bbox == (0.0, 0.0, 2.0, 2.0) and region.area == 4


def test_feature_key_names_its_three_parts():
    assert str(FeatureKey("classical", "ViT-B-16:laion2b", "raw")) == "classical/ViT-B-16:laion2b/raw"


def test_paint_order_is_largest_first_then_by_region_id():
    small, large = np.zeros((4, 4), bool), np.ones((4, 4), bool)
    small[:2, :2] = True
    regions = [Region.from_mask(5, small), Region.from_mask(3, large), Region.from_mask(1, small)]
    assert paint_order(regions, range(3)) == [1, 2, 0]
    assert paint_order(regions, [0, 2]) == [2, 0]


def test_shown_masks_take_the_smaller_regions_of_their_level_away():
    whole, part, sub = np.ones((4, 6), bool), np.zeros((4, 6), bool), np.zeros((4, 6), bool)
    part[:, :3] = True
    sub[:2, :2] = True
    other_level = Region.from_mask(3, part, level=1)
    regions = [Region.from_mask(0, whole), Region.from_mask(1, part), Region.from_mask(2, sub), other_level]
    assert visible_order(regions) == [2, 1, 0, 3]  # level by level, the top of each painting first
    shown = dict(zip(visible_order(regions), shown_masks(regions), strict=True))
    np.testing.assert_array_equal(shown[2], sub)  # on top
    np.testing.assert_array_equal(shown[1], part & ~sub)
    np.testing.assert_array_equal(shown[0], ~part)
    np.testing.assert_array_equal(shown[3], part)  # another level: nothing painted over it
    assert not (shown[0] & shown[1]).any() and (shown[0] | shown[1] | shown[2]).all()
    assert visible_order([]) == [] and list(shown_masks([])) == []
