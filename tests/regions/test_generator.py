"""Our automatic mask generator: SAM's filters on the low-res logits, its fidelity to SAM's generator, LangSplat's levels."""

import re

import numpy as np
import pytest
import torch
from PIL import Image
from segment_anything.utils import amg
from skimage import data
from torchvision.ops import nms as torchvision_nms

from semlat.errors import SemlatError
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings
from semlat.regions.generator import (
    _box_bounds,
    _Deferred,
    _lazy_box_nms,
    _remove_small_regions,
    _upsampled_masks,
    _upsampled_scores,
    as_rgb,
    crop_boxes,
    generate,
    grouped_mask_nms,
    mask_boxes,
    point_grid,
    stability_score,
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


def test_stability_score_and_boxes_are_sams():
    logits = torch.as_tensor(np.random.default_rng(0).normal(0, 3, (5, 40, 30)).astype(np.float32))
    logits[4] = -10  # an empty mask
    expected = amg.calculate_stability_score(logits, 0.0, 1.0)
    assert torch.allclose(stability_score(logits[:4], 1.0), expected[:4])
    assert stability_score(logits[4:], 1.0).item() == 0  # no division by zero
    assert torch.equal(mask_boxes(logits > 0), amg.batched_mask_to_box(logits > 0).float())


@pytest.mark.parametrize("input_hw", [(1024, 1024), (683, 1024), (1024, 700)])
def test_upsampling_inside_the_boxes_gives_sams_full_upsampling_exactly(input_hw):
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    generator = torch.Generator().manual_seed(0)
    blobs = []
    for _ in range(12):  # discs of all sizes, one touching the border, plus noise; and one empty, one full
        cy, cx, r = (torch.rand(3, generator=generator) * torch.tensor([256, 256, 80])).tolist()
        blobs.append((r + 2 - ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()) / 3 + torch.randn(256, 256, generator=generator) * 0.3)
    logits = torch.stack([*blobs, torch.full((256, 256), -5.0), torch.full((256, 256), 5.0)])
    pieces, stab = _upsampled_masks(logits, input_hw, input_hw, 1.0)
    full = torch.nn.functional.interpolate(logits[:, None], (1024, 1024), mode="bilinear", align_corners=False)[:, 0]
    full = full[:, : input_hw[0], : input_hw[1]]
    np.testing.assert_array_equal(pieces.dense(), (full > 0).numpy())
    assert torch.equal(stab, stability_score(full, 1.0))
    assert torch.equal(pieces.boxes, mask_boxes(full > 0))
    assert len(pieces[torch.tensor([1, 3])]) == 2 and pieces[stab > 2].dense().shape == (0, *input_hw)
    whole_stab, whole_boxes = _upsampled_scores(logits, input_hw, input_hw, 1.0)  # the batched path of other devices
    assert torch.equal(whole_stab, stab) and torch.equal(whole_boxes, pieces.boxes)
    kept, kept_stab = _upsampled_masks(logits, input_hw, input_hw, 1.0, keep_at=0.5)  # masks only for those kept
    passing = stab >= 0.5
    assert torch.equal(kept_stab, stab) and 0 < int(passing.sum()) < len(stab)
    np.testing.assert_array_equal(kept[passing].dense(), pieces[passing].dense())
    assert not kept[~passing].dense().any()


@pytest.mark.parametrize("input_hw", [(1024, 1024), (683, 1024), (1024, 701)])
def test_box_bounds_hold_the_upsampled_masks_boxes(input_hw):
    generator = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    logits = []
    for _ in range(40):  # blobs near every edge, with noise that makes ragged borders; one empty, one full
        cy, cx, r = (torch.rand(3, generator=generator) * torch.tensor([300, 300, 60]) - torch.tensor([20, 20, 0])).tolist()
        logits.append((r + 1 - ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()) / 2 + torch.randn(256, 256, generator=generator))
    logits = torch.stack([*logits, torch.full((256, 256), -3.0), torch.full((256, 256), 3.0)])
    full = torch.nn.functional.interpolate(logits[:, None], (1024, 1024), mode="bilinear", align_corners=False)[:, 0]
    exact = mask_boxes(full[:, : input_hw[0], : input_hw[1]] > 0)
    inner, outer = _box_bounds(logits, input_hw)
    known = inner[:, 0] <= inner[:, 2]
    assert int(known.sum()) >= 30 and not bool(known[-2])  # the empty mask bounds nothing
    assert torch.equal(outer[-2], torch.zeros(4)) and torch.equal(exact[-2], torch.zeros(4))
    shown = (full[:, : input_hw[0], : input_hw[1]] > 0).flatten(1).any(1)  # an empty box holds nothing, bounds no area
    assert bool((outer[shown, :2] <= exact[shown, :2]).all() and (exact[shown, 2:] <= outer[shown, 2:]).all())
    assert bool((exact[known, :2] <= inner[known, :2]).all() and (inner[known, 2:] <= exact[known, 2:]).all())
    assert (
        float((outer - exact).abs().median()) <= 12 and float((inner - exact)[known].abs().median()) <= 12
    )  # tight enough to matter (ragged noise here)


def test_the_deferred_box_nms_keeps_what_the_eager_filters_keep():
    """Two near twins and a stranger: the twin with the lower score is dropped from bounds, never upsampled."""
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    disc = lambda cy, cx, r: (r - ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()) * 2  # noqa: E731
    logits = torch.stack([disc(80, 80, 30), disc(80, 81, 30), disc(180, 180, 20)])
    input_hw = (1024, 1024)
    pieces, stab = _upsampled_masks(logits, input_hw, input_hw, 1.0)
    deferred = _Deferred.of(logits, input_hw, 1.0)
    scores, group = torch.tensor([0.9, 0.8, 0.7]), torch.zeros(3, dtype=torch.long)
    keep, kept_stab, boxes, kept = _lazy_box_nms(deferred, scores, group, 0.7, 0.0, 1.0, input_hw)
    assert keep.tolist() == torchvision_nms(pieces.boxes, scores, 0.7).tolist() == [0, 2]
    assert torch.equal(kept_stab, stab[keep]) and torch.equal(boxes, pieces.boxes[keep])
    np.testing.assert_array_equal(kept.dense(), pieces[keep].dense())
    # the stability filter compares in float32, as the other paths' filter does: a threshold just
    # above a score in float64 that rounds to it in float32 keeps the candidate
    threshold = float(stab[2]) + float(np.spacing(np.float32(stab[2]))) / 4
    assert np.float32(threshold) == stab[2] and float(stab[2]) < threshold
    assert 2 in _lazy_box_nms(deferred, scores, group, 0.7, threshold, 1.0, input_hw)[0].tolist()


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
@pytest.mark.parametrize(("crop_layers", "size"), [(0, 256), (1, 256), (0, 1024)])
def test_the_batched_upsampling_of_other_devices_gives_the_same_masks(model, astronaut, monkeypatch, crop_layers, size):
    """At the input frame's size (1024), the CPU upsamples in the box NMS, only the candidates it must (`_lazy_box_nms`)."""
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
