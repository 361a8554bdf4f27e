import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from semlat.crops import crop_box
from semlat.encoders.views import STRATEGIES, Pixels, region_view, resize_center_crop
from semlat.errors import SemlatError
from semlat.types import Region
from tests.views_reference import float_view


def _image_and_border_region():
    """A 60×120 image, white region in the right-most 10 columns (lost by a centre crop)."""
    pixels = np.full((60, 120, 3), 128, np.uint8)
    mask = np.zeros((60, 120), bool)
    mask[20:40, 110:] = True
    pixels[20:40, 110:] = 255
    return Pixels(pixels), mask, Region.from_mask(0, mask)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_views_are_model_sized_uint8_and_the_same_with_or_without_the_decoded_mask(strategy):
    image, mask, region = _image_and_border_region()
    view = region_view(image, region, strategy, 32)
    assert view.shape == (3, 32, 32) and view.dtype == torch.uint8
    assert torch.equal(view, region_view(image, region, strategy, 32, mask))


def test_masked_crop_keeps_a_border_region_that_masked_full_crops_away():
    image, mask, region = _image_and_border_region()
    crop = region_view(image, region, "masked-crop", 32)
    full = region_view(image, region, "masked-full", 32)
    assert int(crop.max()) > 242  # the white region fills the crop
    assert int(full.max()) < 13  # the centre crop cut it off: only black is left
    plain = region_view(image, region, "crop", 32)
    assert float((plain.float() - 128).abs().lt(3).float().mean()) > 0.05  # context kept unmasked


def test_helpers_shapes_and_unknown_strategy():
    assert resize_center_crop(Pixels(np.zeros((50, 80, 3), np.uint8)), 24).shape == (3, 24, 24)
    thin = np.zeros((50, 80), bool)
    thin[10:12, :] = True  # a 2×80 box: padded to a square before the resize
    assert region_view(Pixels(np.zeros((50, 80, 3), np.uint8)), Region.from_mask(0, thin), "crop", 16).shape == (3, 16, 16)
    image, mask, region = _image_and_border_region()
    with pytest.raises(SemlatError, match="unknown region strategy"):
        region_view(image, region, "blur", 32)


def _photo_regions(n: int = 12):
    """scikit-image's astronaut with ellipse regions of many sizes (some at the border)."""
    pixels = data.astronaut()
    height, width = pixels.shape[:2]
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[:height, :width]
    masks = []
    while len(masks) < n:
        cy, cx, ry, rx = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(3, 200), rng.uniform(3, 250)
        mask = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 < 1
        if mask.sum() >= 20:
            masks.append(mask)
    return pixels, masks


def test_masked_crops_are_pils_bicubic_resize_as_openclips_preprocessing_makes_it():
    """OpenCLIP's preprocessing resizes uint8 images with PIL's bicubic filter: the views do the same, to 2 levels."""
    from PIL import Image

    pixels, masks = _photo_regions()
    image = Pixels(pixels)
    for index, mask in enumerate(masks):
        region = Region.from_mask(index, mask)
        x0, y0, x1, y1 = crop_box(region.bbox, *mask.shape)
        patch = pixels[y0:y1, x0:x1] * mask[y0:y1, x0:x1, None]
        height, width = patch.shape[:2]
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        square = np.zeros((side, side, 3), np.uint8)
        square[top : top + height, left : left + width] = patch
        pil = np.asarray(Image.fromarray(square).resize((64, 64), Image.BICUBIC)).astype(int)
        ours = region_view(image, region, "masked-crop", 64).permute(1, 2, 0).numpy().astype(int)
        assert np.abs(ours - pil).max() <= 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_uint8_views_are_close_to_the_float32_views(strategy):
    """The earlier float32 views differ from PIL's at sharp mask edges (up to 0.06); elsewhere they agree."""
    pixels, masks = _photo_regions()
    image, reference_image = Pixels(pixels), torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
    diffs = []
    for index, mask in enumerate(masks):
        region = Region.from_mask(index, mask)
        ours = region_view(image, region, strategy, 64).float() / 255
        diffs.append((ours - float_view(reference_image, mask, region, strategy, 64)).abs().flatten())
    diff = torch.cat(diffs)
    assert float(diff.mean()) < 1.5e-3
    assert float(torch.quantile(diff, 0.999)) < 1.5e-2
    assert float(diff.max()) < 0.1
    whole = resize_center_crop(image, 64).float() / 255
    reference_whole = float_view(reference_image, masks[0], Region.from_mask(0, masks[0]), "whole", 64)
    assert float((whole - reference_whole).abs().mean()) < 1.5e-3


def test_uint8_views_give_the_float32_views_embeddings_and_rankings():
    """The toy CLIP embeds both kinds of views to the same place and ranks prompts the same."""
    from semlat.encoders import load_encoder, model_spec
    from semlat.encoders.toy import TOY_MODEL, TOY_WEIGHTS

    encoder = load_encoder(model_spec(TOY_MODEL, str(TOY_WEIGHTS)), "cpu")
    pixels, masks = _photo_regions()
    image, reference_image = Pixels(pixels), torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
    size = encoder.image_size
    regions = [Region.from_mask(index, mask) for index, mask in enumerate(masks)]
    ours = encoder.encode_images(torch.stack([region_view(image, region, "masked-crop", size) for region in regions]))
    reference = encoder.encode_images(
        torch.stack([float_view(reference_image, mask, region, "masked-crop", size) for mask, region in zip(masks, regions)])
    )
    assert float((ours * reference).sum(1).min()) > 0.999
    texts = encoder.encode_texts(["red cube", "green cylinder", "floor", "wall", "blue sphere", "yellow cone"])
    np.testing.assert_array_equal((ours @ texts.T).argmax(1), (reference @ texts.T).argmax(1))


def test_the_float_filter_of_other_devices_gives_the_float32_resize_rounded():
    """GPUs have no uint8 resize: there the views come from the float32 filter, rounded to whole levels."""
    from semlat.encoders.views import _resize_float

    pixels = data.astronaut()[100:400, 50:300]
    image = torch.from_numpy(np.concatenate([pixels, np.zeros((*pixels.shape[:2], 1), np.uint8)], 2)).permute(2, 0, 1)[None]
    ours = _resize_float(image, (64, 64)).float()
    reference = F.interpolate(image[:, :3].float() / 255, size=(64, 64), mode="bicubic", antialias=True)[0].clamp(0, 1) * 255
    assert ours.dtype == torch.float32 and float((ours - reference).abs().max()) <= 0.5 + 1e-3
