"""The weight-free classical backend: superpixel partitions, their order, its settings."""

import re

import numpy as np
import pytest
from skimage import data

from semlat.errors import SemlatError
from semlat.regions.classical import ClassicalProposer, ClassicalSettings


@pytest.mark.parametrize("method", ["felzenszwalb", "slic"])
def test_regions_are_disjoint_full_size_and_large_enough(method):
    image = data.astronaut()
    regions = ClassicalProposer(ClassicalSettings(method=method, min_area=0.005)).propose(image)
    assert len(regions) > 5
    masks = np.stack([r.mask() for r in regions])
    assert masks.shape[1:] == image.shape[:2]
    assert masks.sum(axis=0).max() == 1  # a partition: no pixel in two regions
    assert min(r.area for r in regions) >= 0.005 * image.shape[0] * image.shape[1]
    assert [r.region_id for r in regions] == list(range(len(regions)))
    assert [r.area for r in regions] == sorted((r.area for r in regions), reverse=True)


def test_max_regions_keeps_the_largest():
    image = data.coffee()
    every = ClassicalProposer(ClassicalSettings(max_regions=0, min_area=0.0005)).propose(image)
    few = ClassicalProposer(ClassicalSettings(max_regions=5, min_area=0.0005)).propose(image)
    assert len(few) == 5 < len(every)
    assert [r.area for r in few] == [r.area for r in every[:5]]


def test_tiny_and_flat_images_give_one_region():
    regions = ClassicalProposer().propose(np.full((5, 3, 3), 7, np.uint8))
    assert len(regions) == 1 and regions[0].area == 15


def test_config_is_every_setting_in_field_order():
    config = ClassicalProposer().config()
    assert list(config.items()) == [
        ("method", "felzenszwalb"),
        ("work_size", 320),
        ("scale", 400.0),
        ("n_segments", 48),
        ("min_area", 0.002),
        ("max_regions", 64),
    ]  # recorded in workspace manifests: a change here makes every existing region set "other settings"


@pytest.mark.parametrize(
    "settings, message",
    [({"method": "watershed"}, "unknown classical method"), ({"min_area": 1.0}, "--min-area 1.0 is not in [0, 1)")],
)
def test_bad_settings_are_user_errors(settings, message):
    with pytest.raises(SemlatError, match=re.escape(message)):
        ClassicalSettings(**settings)
