import numpy as np
import pytest
import torch

from semlat.encoders.views import STRATEGIES, pad_square_resize, region_view, resize_center_crop
from semlat.errors import SemlatError
from semlat.types import Region


def _image_and_border_region():
    """A 60×120 image, white region in the right-most 10 columns (lost by a centre crop)."""
    image = torch.full((3, 60, 120), 0.5)
    mask = np.zeros((60, 120), bool)
    mask[20:40, 110:] = True
    image[:, 20:40, 110:] = 1.0
    return image, torch.from_numpy(mask), Region.from_mask(0, mask)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_views_are_model_sized_and_in_range(strategy):
    image, mask, region = _image_and_border_region()
    view = region_view(image, mask, region, strategy, 32)
    assert view.shape == (3, 32, 32)
    assert 0.0 <= float(view.min()) and float(view.max()) <= 1.0


def test_masked_crop_keeps_a_border_region_that_masked_full_crops_away():
    image, mask, region = _image_and_border_region()
    crop = region_view(image, mask, region, "masked-crop", 32)
    full = region_view(image, mask, region, "masked-full", 32)
    assert float(crop.max()) > 0.95  # the white region fills the crop
    assert float(full.max()) < 0.05  # the centre crop cut it off: only black is left
    plain = region_view(image, mask, region, "crop", 32)
    assert float((plain - 0.5).abs().lt(0.01).float().mean()) > 0.05  # context kept unmasked


def test_helpers_shapes_and_unknown_strategy():
    assert resize_center_crop(torch.rand(3, 50, 80), 24).shape == (3, 24, 24)
    assert pad_square_resize(torch.rand(3, 5, 40), 16).shape == (3, 16, 16)
    image, mask, region = _image_and_border_region()
    with pytest.raises(SemlatError, match="unknown region strategy"):
        region_view(image, mask, region, "blur", 32)
