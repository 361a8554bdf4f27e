import numpy as np

from semlat import rle
from semlat.types import FeatureKey, Region


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
