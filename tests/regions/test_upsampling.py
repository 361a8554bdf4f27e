"""The generator's upsampling: SAM's own numbers inside support boxes, bounds on boxes, the deferred box NMS."""

import numpy as np
import pytest
import torch
from segment_anything.utils import amg
from torchvision.ops import nms as torchvision_nms

from semlat.regions.sam import upsampled_logits
from semlat.regions.upsampling import (
    FAR_BELOW,
    Deferred,
    _support_slices,
    _upsampled_twice,
    box_bounds,
    lazy_box_nms,
    mask_boxes,
    resized_bounds,
    stability_score,
    upsampled_masks,
    upsampled_scores,
)


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
    pieces, stab = upsampled_masks(logits, input_hw, input_hw, 1.0)
    full = torch.nn.functional.interpolate(logits[:, None], (1024, 1024), mode="bilinear", align_corners=False)[:, 0]
    full = full[:, : input_hw[0], : input_hw[1]]
    np.testing.assert_array_equal(pieces.dense(), (full > 0).numpy())
    assert torch.equal(stab, stability_score(full, 1.0))
    assert torch.equal(pieces.boxes, mask_boxes(full > 0))
    assert len(pieces[torch.tensor([1, 3])]) == 2 and pieces[stab > 2].dense().shape == (0, *input_hw)
    whole_stab, whole_boxes = upsampled_scores(logits, input_hw, input_hw, 1.0)  # the batched path of other devices
    assert torch.equal(whole_stab, stab) and torch.equal(whole_boxes, pieces.boxes)
    kept, kept_stab = upsampled_masks(logits, input_hw, input_hw, 1.0, keep_at=0.5)  # masks only for those kept
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
    inner, outer = box_bounds(logits, input_hw)
    known = inner[:, 0] <= inner[:, 2]
    assert int(known.sum()) >= 30 and not bool(known[-2])  # the empty mask bounds nothing
    assert torch.equal(outer[-2], torch.zeros(4)) and torch.equal(exact[-2], torch.zeros(4))
    shown = (full[:, : input_hw[0], : input_hw[1]] > 0).flatten(1).any(1)  # an empty box holds nothing, bounds no area
    assert bool((outer[shown, :2] <= exact[shown, :2]).all() and (exact[shown, 2:] <= outer[shown, 2:]).all())
    assert bool((exact[known, :2] <= inner[known, :2]).all() and (inner[known, 2:] <= exact[known, 2:]).all())
    assert (
        float((outer - exact).abs().median()) <= 12 and float((inner - exact)[known].abs().median()) <= 12
    )  # tight enough to matter (ragged noise here)


@pytest.mark.parametrize(
    ("input_hw", "size"), [((683, 1024), (1277, 1920)), ((683, 1024), (426, 640)), ((1024, 701), (300, 205))]
)
def test_resized_bounds_hold_the_boxes_after_sams_second_resize(input_hw, size):
    generator = torch.Generator().manual_seed(2)
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    logits = []
    for _ in range(30):
        cy, cx, r = (torch.rand(3, generator=generator) * torch.tensor([300, 300, 60]) - torch.tensor([20, 20, 0])).tolist()
        logits.append((r + 1 - ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()) / 2 + torch.randn(256, 256, generator=generator))
    logits = torch.stack([*logits, torch.full((256, 256), -3.0)])
    photo = torch.cat([x for _, x in upsampled_logits(logits, input_hw, size)])
    exact = mask_boxes(photo > 0)
    inner, outer = resized_bounds(*box_bounds(logits, input_hw), input_hw, size)
    known = inner[:, 0] <= inner[:, 2]
    shown = (photo > 0).flatten(1).any(1)
    assert int(known.sum()) >= 20 and torch.equal(outer[-1], torch.zeros(4))
    assert bool((outer[shown, :2] <= exact[shown, :2]).all() and (exact[shown, 2:] <= outer[shown, 2:]).all())
    assert bool((exact[known, :2] <= inner[known, :2]).all() and (inner[known, 2:] <= exact[known, 2:]).all())


def test_the_deferred_box_nms_keeps_what_the_eager_filters_keep():
    """Two near twins and a stranger: the twin with the lower score is dropped from bounds, never upsampled."""
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    disc = lambda cy, cx, r: (r - ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()) * 2  # noqa: E731
    logits = torch.stack([disc(80, 80, 30), disc(80, 81, 30), disc(180, 180, 20)])
    input_hw = (1024, 1024)
    pieces, stab = upsampled_masks(logits, input_hw, input_hw, 1.0)
    deferred = Deferred.of(logits, input_hw, 1.0)
    scores, group = torch.tensor([0.9, 0.8, 0.7]), torch.zeros(3, dtype=torch.long)
    keep, kept_stab, boxes, kept = lazy_box_nms(deferred, scores, group, 0.7, 0.0, 1.0, input_hw)
    assert keep.tolist() == torchvision_nms(pieces.boxes, scores, 0.7).tolist() == [0, 2]
    assert torch.equal(kept_stab, stab[keep]) and torch.equal(boxes, pieces.boxes[keep])
    np.testing.assert_array_equal(kept.dense(), pieces[keep].dense())
    # the stability filter compares in float32, as the other paths' filter does: a threshold just
    # above a score in float64 that rounds to it in float32 keeps the candidate
    threshold = float(stab[2]) + float(np.spacing(np.float32(stab[2]))) / 4
    assert np.float32(threshold) == stab[2] and float(stab[2]) < threshold
    assert 2 in lazy_box_nms(deferred, scores, group, 0.7, threshold, 1.0, input_hw)[0].tolist()


@pytest.mark.parametrize(
    ("input_hw", "size"), [((1024, 683), (1920, 1281)), ((768, 1024), (480, 640)), ((1024, 1024), (205, 205))]
)
def test_twice_upsampled_logits_are_cut_to_what_the_whole_photo_shows_above_the_offset(input_hw, size):
    """Only the window the slice's cells reach is thresholded: the same origin and logits as thresholding the whole photo."""
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    for corner in [(0, 0), (90, 40), (240, 236), (120, 200)]:
        logits = torch.full((1, 256, 256), -20.0)
        r, c = corner
        logits[0, r : r + 12, c : c + 16] = torch.as_tensor(
            rng.normal(2.0, 3.0, (len(range(r, min(r + 12, 256))), len(range(c, min(c + 16, 256))))), dtype=torch.float
        )
        where = _support_slices(logits, 1.0)[0]
        origin, part = _upsampled_twice(logits[0, where[0] : where[1], where[2] : where[3]], where, input_hw, size, 1.0)
        grid = torch.full((1, 1, 256, 256), FAR_BELOW)
        grid[0, 0, where[0] : where[1], where[2] : where[3]] = logits[0, where[0] : where[1], where[2] : where[3]]
        whole = F.interpolate(grid, (1024, 1024), mode="bilinear", align_corners=False)[..., : input_hw[0], : input_hw[1]]
        whole = F.interpolate(whole, size, mode="bilinear", align_corners=False)[0, 0]
        rows, cols = np.nonzero((whole > -1.0).numpy().any(1))[0], np.nonzero((whole > -1.0).numpy().any(0))[0]
        if not len(rows):
            assert part.numel() == 0
            continue
        assert origin == (rows[0], cols[0])
        assert torch.equal(part, whole[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
