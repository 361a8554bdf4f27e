"""Our automatic mask generator: SAM's filters on the low-res logits, its fidelity to SAM's generator, LangSplat's levels."""

import re

import numpy as np
import pytest
import torch
from PIL import Image
from segment_anything.utils import amg
from skimage import data

from semlat.errors import SemlatError
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings
from semlat.regions.generator import (
    _remove_small_regions,
    as_rgb,
    crop_boxes,
    generate,
    grouped_mask_nms,
    point_grid,
)
from semlat.regions.sam import SamSpec, load_sam
from tests.fidelity import fidelity, mask_ious


def _box(shape, y0, y1, x0, x1):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


# -- the pieces, against segment-anything's own ------------------------------------------
def test_point_grid_and_crop_boxes_are_sams():
    for n in (1, 4, 32):
        assert np.allclose(point_grid(n), amg.build_point_grid(n))
    for layers in (0, 1, 2):
        boxes, layer_ids = amg.generate_crop_boxes((600, 800), layers, 512 / 1500)
        assert crop_boxes((600, 800), layers) == list(zip(boxes, layer_ids, strict=True))


def test_mask_nms_compares_block_means_at_most_256_a_side():
    from semlat.regions.generator import _flat

    masks = np.random.default_rng(1).random((3, 683, 1030)) > 0.5  # factor 5, two rows of padding
    padded = np.pad(masks, ((0, 0), (0, 2), (0, 0))).astype(np.float32)
    expected = padded.reshape(3, 137, 5, 206, 5).mean(axis=(2, 4)).reshape(3, -1)
    np.testing.assert_allclose(_flat(masks), expected, atol=1e-6)


def test_grouped_mask_nms_deduplicates_each_group_on_its_own():
    shape = (64, 64)
    a, a2, b = _box(shape, 0, 30, 0, 30), _box(shape, 0, 31, 0, 30), _box(shape, 40, 60, 40, 60)
    masks = np.stack([a, a2, b, a])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert grouped_mask_nms(masks, scores, np.zeros(4, int), 0.7).tolist() == [0, 2]
    assert grouped_mask_nms(masks, scores, np.array([0, 0, 0, 1]), 0.7).tolist() == [0, 2, 3]
    assert grouped_mask_nms(masks[:0], scores[:0], np.zeros(0, int), 0.7).tolist() == []


def test_small_islands_and_holes_are_removed_and_changed_masks_rank_last():
    mask = _box((60, 60), 5, 45, 5, 45)
    mask[20:22, 20:22] = False  # a small hole
    mask[52:54, 52:54] = True  # a small island
    other = _box((60, 60), 0, 10, 50, 60)
    out, keep = _remove_small_regions(np.stack([mask, other]), 10, torch.zeros(2, dtype=torch.long), 0.7)
    assert keep.tolist() == [0, 1]
    assert np.array_equal(out[0], _box((60, 60), 5, 45, 5, 45)) and np.array_equal(out[1], other)
    twin = _box((60, 60), 5, 45, 5, 45)  # what the mask becomes, given unchanged: it wins the box NMS
    out, keep = _remove_small_regions(np.stack([mask, twin]), 10, torch.zeros(2, dtype=torch.long), 0.7)
    assert keep.tolist() == [1]


def test_as_rgb_takes_gray_and_rgba():
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5)
    assert as_rgb(gray).shape == (4, 5, 3) and np.array_equal(as_rgb(gray)[..., 2], gray)
    assert as_rgb(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"pred_iou_thresh": 1.5}, "--pred-iou-thresh 1.5 is not in [0, 1]"),
        ({"stability_score_thresh": -0.1}, "--stability-score-thresh -0.1 is not in [0, 1]"),
        ({"box_nms_thresh": 2.0}, "--box-nms-thresh 2.0 is not in [0, 1]"),
        ({"mask_nms_thresh": -1.0}, "--mask-nms-thresh -1.0 is not in [0, 1]"),
        ({"crop_layers": -1}, "--crop-layers -1 is not in [0, 4]"),
        ({"min_mask_region_area": -5}, "--min-mask-region-area -5 is not in [0, inf]"),
        ({"crop_points_downscale": 0}, "--crop-points-downscale 0 is not in [1, inf]"),
        ({"points_per_side": 0}, "--points-per-side 0 is not in [1, 1024]"),
    ],
)
def test_bad_generator_settings_are_one_line_user_errors(settings, message):
    with pytest.raises(SemlatError, match=re.escape(message)) as error:
        AutomaticSettings(**settings)
    assert "\n" not in str(error.value)


# -- with MobileSAM ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return load_sam(SamSpec.resolve("mobile-sam"), "cpu")


@pytest.fixture(scope="module")
def astronaut():
    return np.asarray(Image.fromarray(data.astronaut()).resize((256, 256), Image.BILINEAR))


@pytest.mark.slow
def test_fidelity_to_segment_anythings_generator(model, astronaut):
    settings = {"points_per_side": 12, "pred_iou_thresh": 0.88, "stability_score_thresh": 0.95, "box_nms_thresh": 0.7}
    reference = model.automatic_generator(points_per_batch=64, output_mode="binary_mask", **settings).generate(astronaut)
    ours = generate(model, astronaut, points_per_batch=64, mask_nms_thresh=1.0, **settings)
    result = fidelity(np.stack([entry["segmentation"] for entry in reference]), ours.masks)
    print(result)
    assert result["reference_masks"] >= 5
    assert result["fraction"] >= 0.95
    assert ours.masks.shape[1:] == astronaut.shape[:2] and ours.levels.tolist() == [0] * len(ours.masks)


@pytest.mark.slow
@pytest.mark.parametrize(("crop_layers", "size"), [(0, 256), (1, 256), (0, 1024), (0, 1280)])
def test_the_batched_upsampling_of_other_devices_gives_the_same_masks(model, astronaut, monkeypatch, crop_layers, size):
    """On a CPU the whole image is upsampled in the box NMS, only the candidates it must (`lazy_box_nms`).

    At the input frame's size (1024) once; smaller (256) and larger (1280) through SAM's second resize.
    """
    import semlat.regions.generator as generator_module

    settings = {"points_per_side": 6 if size == 256 else 10, "levels": True, "crop_layers": crop_layers}
    image = astronaut if size == 256 else np.asarray(Image.fromarray(astronaut).resize((size, 700), Image.BILINEAR))
    in_boxes = generate(model, image, **settings)
    monkeypatch.setattr(generator_module, "_upsamples_in_boxes", lambda device: False)
    batched = generate(model, image, **settings)
    assert len(in_boxes.masks) > 3
    np.testing.assert_array_equal(batched.masks, in_boxes.masks)
    np.testing.assert_array_equal(batched.stability, in_boxes.stability)
    np.testing.assert_array_equal(batched.levels, in_boxes.levels)


@pytest.mark.slow
def test_batches_decoded_side_by_side_give_the_masks_of_one_at_a_time(model, astronaut):
    """`CPU_THREADS` batches at once: each thread has its own logits buffer, and the batches keep their order."""
    settings = {"points_per_side": 10, "points_per_batch": 16, "levels": True}  # 7 batches, the last one short
    one = generate(model, astronaut, threads=1, **settings)
    several = generate(model, astronaut, threads=3, **settings)
    assert len(one.masks) > 3
    np.testing.assert_array_equal(several.masks, one.masks)
    # MKL may split a product's sums differently over 2 threads than over 1: the last bit of an IoU
    np.testing.assert_allclose(several.scores, one.scores, rtol=1e-6)
    np.testing.assert_array_equal(several.levels, one.levels)
    assert sum(several.seconds.values()) > 0


@pytest.mark.slow
def test_levels_are_the_three_outputs_of_each_prompt_each_deduplicated(model, astronaut):
    everything = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0, "mask_nms_thresh": 1.0}
    raw = generate(model, astronaut, points_per_side=2, levels=True, **everything)
    assert len(raw.masks) == 12 and np.bincount(raw.levels).tolist() == [4, 4, 4]  # three outputs per prompt

    found = generate(model, astronaut, points_per_side=8, levels=True)
    assert set(found.levels.tolist()) <= {0, 1, 2} and (found.levels == 0).any() and (found.levels == 2).any()
    for level in range(3):
        masks = found.masks[found.levels == level]
        ious = mask_ious(masks, masks)
        np.fill_diagonal(ious, 0)
        assert ious.max(initial=0) <= 0.75  # de-duplicated within the level (mask NMS 0.7 at 256 px)
    area = found.masks.reshape(len(found.masks), -1).mean(1)
    assert np.median(area[found.levels == 0]) > np.median(area[found.levels == 2])
    pooled = generate(model, astronaut, points_per_side=8)
    assert len(pooled.masks) < len(found.masks)  # one pool de-duplicates across levels too


@pytest.mark.slow
@pytest.mark.parametrize("value", [0, 255])
def test_a_uniform_image_gives_no_region_or_the_whole_image(value):
    proposer = AutomaticProposer(AutomaticSettings(points_per_side=3, n_labels=0, device="cpu", min_area=0.0))
    regions, descriptors = proposer.describe(np.full((48, 64, 3), value, np.uint8))
    levels = [region.level for region in regions]
    assert len(levels) == len(set(levels)) <= 3 and len(descriptors) == len(regions)  # at most one per level
    assert all(region.area >= 0.9 * 48 * 64 for region in regions)


@pytest.mark.slow
@pytest.mark.parametrize("image", [np.random.default_rng(0).integers(0, 255, (8, 5, 3), dtype=np.uint8), data.camera()[::8, ::8]])
def test_a_tiny_and_a_grayscale_image_work(image):
    proposer = AutomaticProposer(
        AutomaticSettings(points_per_side=4, n_labels=0, device="cpu", levels=True, min_mask_region_area=50)
    )
    regions, descriptors = proposer.describe(image)
    assert len(descriptors) == len(regions)
    for region in regions:
        assert region.mask().shape == image.shape[:2] and region.level in (0, 1, 2)


@pytest.mark.slow
def test_crop_layers_add_crops_and_keep_the_masks_in_the_image(model, astronaut):
    found = generate(model, astronaut[:, :200], points_per_side=4, crop_layers=1, crop_points_downscale=2)
    assert found.masks.shape[1:] == (256, 200) and len(found.scores) == len(found.masks)
