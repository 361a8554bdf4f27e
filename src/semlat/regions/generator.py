"""A fast automatic mask generator over `SamModel`: SAM's filters on the low-resolution logits.

segment-anything's ``SamAutomaticMaskGenerator`` upsamples every candidate mask of every prompt
(three per point, 3072 at 32×32 points) to the full image before filtering them. This generator
keeps SAM's own model and filters but runs them where they are cheap:

1. The image (or crop) is encoded once; a grid of ``points_per_side``² point prompts (SAM's
   ``build_point_grid`` layout, mapped into the 1024 input frame) is decoded
   ``points_per_batch`` at a time with three outputs per prompt; on a CPU `CPU_THREADS` batches
   side by side, each with its share of the cores (`semlat.regions.cpu_threads`).
2. On the (256, 256) low-resolution logits, restricted to the part of the grid that holds image
   content (SAM's padding is cropped away, as SAM's postprocess does at full resolution): the
   predicted IoU (> ``pred_iou_thresh``) and SAM's stability score (IoU of the masks thresholded
   at +offset and −offset) as a pre-filter at ``stability_score_thresh`` − ``refine_margin``.
   The few candidates left get SAM's own stability score (≥ ``stability_score_thresh``) and
   boxes on their upsampled logits, so the decisions are SAM's (``refine_margin=None`` decides
   on the low-res grid alone, boxes from the low-res masks too). Then
   ``torchvision.ops.batched_nms`` at ``box_nms_thresh`` (with crop layers, SAM's cross-crop NMS
   preferring smaller crops, and its drop of masks touching an inner crop edge).
3. On a CPU the whole image's upsampling waits for the box NMS (`semlat.regions.upsampling`):
   candidates go by score, and one whose box, bounded from its low-res logits (and carried
   through SAM's second resize when the photo's long side is not 1024), must overlap a kept box
   is dropped unseen; the rest are upsampled once, inside their support, and kept bit-packed (a
   few of the candidates are kept; the masks are those of upsampling them all). Crops of crop
   layers are upsampled per batch, through SAM's two resizes where they differ from the frame. On a GPU the candidates' whole grids are upsampled in batches on the device, only
   their scores and boxes come back, and the box-NMS survivors are upsampled once more for
   their masks (a per-candidate loop would cost more than the model there). None that failed
   the pre-filter is upsampled at all; optionally small islands and holes are removed
   (``min_mask_region_area``, as SAM and LangSplat do, with scipy's connected components); then
   the vectorised mask NMS.

The decoder is SAM's own, run through `semlat.regions.prompt_decoder`: the same numbers with the
image-sized work shared between the prompts or folded into their tokens, and masks decoded only for the prompts
with an output that passes the IoU filter (the IoUs come from the tokens alone) and only over the
image's content. On a CPU the decoder still takes most of the time: see
``benchmarks/results/generator.json`` and ``decoder_floor.json``.

Levels (``levels=True``) are LangSplat's: a prompt's three outputs are three levels, by SAM's
output index (LangSplat's ``preprocess.py`` takes output 0, 1, 2 as small, medium, large), and
each level is de-duplicated within itself (box NMS and mask NMS per level). As `Region.level`:
output 2 → level 0 (whole), output 1 → level 1 (part), output 0 → level 2 (sub-part). With
``levels=False`` every output is pooled and one NMS runs over all, as in SAM's generator.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from semlat.regions.cpu_threads import map_on_cores
from semlat.regions.sam import INPUT_SIZE, LOW_RES, full_resolution_masks, to_input_frame
from semlat.regions.upsampling import (
    Deferred,
    Pieces,
    lazy_box_nms,
    mask_boxes,
    stability_score,
    upsampled_masks,
    upsampled_scores,
)

if TYPE_CHECKING:
    import torch

    from semlat.regions.prompt_decoder import PromptDecoder
    from semlat.regions.sam import SamModel

NMS_SIZE = 256
"""Masks are compared at this long side by the mask NMS."""

OUTPUT_LEVEL = (2, 1, 0)
"""`Region.level` of SAM's multimask output 0, 1, 2 (LangSplat's small, medium, large)."""

CROP_OVERLAP_RATIO = 512 / 1500
"""SAM's default overlap of neighbouring crops, as a fraction of the short side."""

CPU_THREADS = 2
"""Batches of prompts decoded side by side on a CPU, each with its share of PyTorch's threads (`semlat.regions.cpu_threads`)."""


@dataclass
class Generated:
    """What the generator found in one image.

    Attributes:
        masks: (N, H, W) boolean masks at the size of the given image.
        scores: (N,) predicted IoUs.
        stability: (N,) stability scores.
        levels: (N,) 0 whole, 1 part, 2 sub-part (all 0 without ``levels``).
        latent: (256, 64, 64) SAM latent of the whole image (the first encoder call).
        input_size: (h, w) of the image inside SAM's 1024 square.
        seconds: time split: encoder, decoder, filtering, upsampling, nms, small_regions.
    """

    masks: npt.NDArray[np.bool_]
    scores: npt.NDArray[np.float32]
    stability: npt.NDArray[np.float32]
    levels: npt.NDArray[np.int64]
    latent: npt.NDArray[np.float32]
    input_size: tuple[int, int]
    seconds: dict[str, float] = field(default_factory=dict)


def point_grid(n_per_side: int) -> npt.NDArray[np.float64]:
    """SAM's ``build_point_grid``: (n², 2) x, y points evenly spaced in [0, 1]², row by row."""
    offset = 1 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def crop_boxes(size: tuple[int, int], n_layers: int, overlap_ratio: float = CROP_OVERLAP_RATIO) -> list[tuple[list[int], int]]:
    """SAM's ``generate_crop_boxes``: ([x0, y0, x1, y1], layer) for the image and each layer's crops."""
    import math
    from itertools import product

    height, width = size
    short = min(height, width)
    boxes = [([0, 0, width, height], 0)]

    def crop_len(length: int, n: int, overlap: int) -> int:
        return int(math.ceil((overlap * (n - 1) + length) / n))

    for layer in range(n_layers):
        n = 2 ** (layer + 1)
        overlap = int(overlap_ratio * short * (2 / n))
        cw, ch = crop_len(width, n, overlap), crop_len(height, n, overlap)
        x0s = [int((cw - overlap) * i) for i in range(n)]
        y0s = [int((ch - overlap) * i) for i in range(n)]
        for x0, y0 in product(x0s, y0s):
            boxes.append(([x0, y0, min(x0 + cw, width), min(y0 + ch, height)], layer + 1))
    return boxes


def _low_res_boxes(masks: torch.Tensor, size: tuple[int, int], input_hw: tuple[int, int]) -> torch.Tensor:
    """Boxes of low-res content masks in pixels of an image of ``size`` (x4 into the input frame, then rescaled)."""
    import torch

    (height, width), (h_in, w_in) = size, input_hw
    sx, sy = width / w_in * (INPUT_SIZE / LOW_RES), height / h_in * (INPUT_SIZE / LOW_RES)
    low = mask_boxes(masks).cpu()
    boxes = torch.stack([low[:, 0] * sx, low[:, 1] * sy, (low[:, 2] + 1) * sx - 1, (low[:, 3] + 1) * sy - 1], 1)
    return torch.minimum(boxes.clamp(min=0), torch.tensor([width - 1, height - 1, width - 1, height - 1], dtype=torch.float))


@dataclass
class _Candidates:
    """A batch's candidate masks (one per prompt output) as they pass SAM's filters.

    ``logits`` stay on the decoder's device; everything else is on the CPU. ``pieces`` holds the
    upsampled masks where they are made one by one inside their boxes (a CPU).
    """

    logits: torch.Tensor
    iou: torch.Tensor
    output: torch.Tensor
    stab: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    pieces: Pieces | None = None
    deferred: Deferred | None = None

    def where(self, keep: torch.Tensor) -> _Candidates:
        """The candidates where the (N,) boolean ``keep`` (on the CPU) is true."""
        logits = self.logits[keep.to(self.logits.device)] if len(self.logits) else self.logits
        return _Candidates(
            logits,
            self.iou[keep],
            self.output[keep],
            None if self.stab is None else self.stab[keep],
            None if self.boxes is None else self.boxes[keep],
            None if self.pieces is None else self.pieces[keep],
            None if self.deferred is None else self.deferred[keep],
        )

    @staticmethod
    def cat(parts: list[_Candidates], size: tuple[int, int]) -> _Candidates:
        import torch

        pieces = [part.pieces for part in parts if part.pieces is not None]
        deferred = [part.deferred for part in parts if part.deferred is not None]
        return _Candidates(
            torch.cat([part.logits for part in parts]),
            torch.cat([part.iou for part in parts]),
            torch.cat([part.output for part in parts]),
            torch.cat([part.stab for part in parts if part.stab is not None]),
            torch.cat([part.boxes for part in parts if part.boxes is not None]),
            Pieces.cat(pieces, size) if pieces else None,
            Deferred.cat(deferred) if deferred else None,
        )


def _upsamples_in_boxes(device: torch.device) -> bool:
    """Whether candidates are upsampled one by one inside their boxes (a CPU) or as whole grids in batches (other devices)."""
    return device.type == "cpu"


def _near_crop_edge(boxes: torch.Tensor, crop: list[int], image: list[int], atol: float = 20.0) -> torch.Tensor:
    """SAM's ``is_box_near_crop_edge``: boxes (image frame) touching a crop edge that is not an image edge."""
    import torch

    crop_t = torch.as_tensor(crop, dtype=torch.float)
    image_t = torch.as_tensor(image, dtype=torch.float)
    near_crop = torch.isclose(boxes, crop_t[None], atol=atol, rtol=0)
    near_image = torch.isclose(boxes, image_t[None], atol=atol, rtol=0)
    return (near_crop & ~near_image).any(1)


class _Clock:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(("encoder", "decoder", "filtering", "upsampling", "nms", "small_regions"), 0.0)

    def add(self, key: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[key] += now - start
        return now

    def absorb(self, parts: list[dict[str, float]], start: float) -> float:
        """Add the splits of work that ran side by side since ``start``, apportioned so they sum to the time passed."""
        now = time.perf_counter()
        total = sum(sum(part.values()) for part in parts)
        for part in parts:
            for key, seconds in part.items():
                self.seconds[key] += seconds * (now - start) / total if total > 0 else 0.0
        return now


def as_rgb(image: npt.NDArray) -> npt.NDArray[np.uint8]:
    """(H, W) grayscale, (H, W, 1), (H, W, 3) or (H, W, 4) → (H, W, 3) uint8."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def generate(
    model: SamModel,
    image: npt.NDArray,
    *,
    points_per_side: int = 32,
    points_per_batch: int = 64,
    pred_iou_thresh: float = 0.88,
    stability_score_thresh: float = 0.95,
    stability_score_offset: float = 1.0,
    box_nms_thresh: float = 0.7,
    mask_nms_thresh: float = 0.7,
    levels: bool = False,
    crop_layers: int = 0,
    crop_overlap_ratio: float = CROP_OVERLAP_RATIO,
    crop_points_downscale: int = 1,
    min_mask_region_area: int = 0,
    refine_margin: float | None = 0.1,
    dtype: torch.dtype | None = None,
    threads: int | None = None,
) -> Generated:
    """Automatic masks of ``image`` (see the module docstring); masks come at the image's size.

    Args:
        model: a loaded SAM (`semlat.regions.sam.load_sam`).
        image: (H, W, 3) uint8 (grayscale and RGBA are converted).
        points_per_side: point prompts per side of the (layer-0) grid.
        points_per_batch: point prompts per decoder call.
        pred_iou_thresh: keep masks whose predicted IoU is above this.
        stability_score_thresh: keep masks whose stability score is at least this.
        stability_score_offset: the logit offset of the stability score.
        box_nms_thresh: box NMS IoU (within a crop, across crops, after small-region removal).
        mask_nms_thresh: mask NMS IoU (1 turns it off).
        levels: LangSplat's levels (per output index, de-duplicated per level) instead of one pool.
        crop_layers: SAM's crop layers (layer i: (2^i)² crops, each its own encoder call).
        crop_overlap_ratio: overlap of neighbouring crops as a fraction of the short side.
        crop_points_downscale: the point grid of layer i has points_per_side / this^i points a side.
        min_mask_region_area: islands and holes smaller than this many pixels are removed (0: off).
        refine_margin: the low-res stability score is a pre-filter at ``stability_score_thresh`` minus
            this; the candidates it keeps get SAM's own stability score and boxes on their upsampled
            logits (and those masks are the output: none is upsampled twice). None: decide on the
            low-res grid alone (boxes from the low-res masks too; only box-NMS survivors upsampled).
        dtype: the decoder's image-side arithmetic (`semlat.regions.prompt_decoder.PromptDecoder`).
        threads: batches of prompts decoded side by side (None: `CPU_THREADS` on a CPU with that
            many threads, one at a time elsewhere); the masks are the same either way.

    On a CPU this keeps freed memory in the process from then on (`semlat.device.keep_freed_memory`).
    """
    import torch
    from torchvision.ops import batched_nms

    from semlat.device import keep_freed_memory

    if model.device.type == "cpu":
        keep_freed_memory()
    image = as_rgb(image)
    height, width = image.shape[:2]
    clock = _Clock()
    filters = _Filters(pred_iou_thresh, stability_score_thresh, stability_score_offset, refine_margin)
    boxes_all, scores_all, stab_all, level_all, crop_area_all, masks_all = [], [], [], [], [], []
    latent = None
    whole_input_size = (0, 0)
    for crop, layer in crop_boxes((height, width), crop_layers, crop_overlap_ratio):
        x0, y0, x1, y1 = crop
        crop_image = image[y0:y1, x0:x1]
        ch, cw = crop_image.shape[:2]
        start = time.perf_counter()
        encoded = model.encode(crop_image)
        start = clock.add("encoder", start)
        if latent is None:
            latent, whole_input_size = encoded.latent, encoded.input_size
        n_side = max(1, int(points_per_side / (crop_points_downscale**layer)))
        points = to_input_frame(point_grid(n_side) * np.array([cw, ch]), (ch, cw))
        decoder = model.prompt_decoder(encoded.latent, dtype)
        in_boxes = refine_margin is not None and _upsamples_in_boxes(model.device)
        deferring = in_boxes and crop == [0, 0, width, height]
        context = _Crop(decoder, crop, (height, width), (ch, cw), tuple(encoded.input_size), in_boxes, deferring)
        batches = [points[first : first + points_per_batch] for first in range(0, len(points), points_per_batch)]
        start = time.perf_counter()
        done = map_on_cores(
            functools.partial(_decode_batch, model, context, filters),
            batches,
            threads or (min(CPU_THREADS, torch.get_num_threads()) if model.device.type == "cpu" else 1),
        )  # in the batches' order, as one at a time gives them
        kept = [found for found, _ in done]
        start = clock.absorb([seconds for _, seconds in done], start)
        crop_found = _Candidates.cat(kept, (ch, cw))
        iou_t, stab, boxes = crop_found.iou, crop_found.stab, crop_found.boxes
        level = torch.as_tensor(OUTPUT_LEVEL)[crop_found.output]
        group = level if levels else torch.zeros_like(level)
        if crop_found.deferred is not None:
            keep, stab_kept, boxes_kept, pieces = lazy_box_nms(
                crop_found.deferred,
                iou_t,
                group,
                box_nms_thresh,
                stability_score_thresh,
                stability_score_offset,
                tuple(encoded.input_size),
                (ch, cw),
            )
            stab[keep], boxes[keep] = stab_kept, boxes_kept
            full = pieces.dense()
        else:
            keep = batched_nms(boxes, iou_t, group, box_nms_thresh) if len(boxes) else torch.zeros(0, dtype=torch.long)
            start = clock.add("nms", start)
            if crop_found.pieces is not None:
                full = crop_found.pieces[keep].dense()
            else:
                full = full_resolution_masks(crop_found.logits[keep.to(crop_found.logits.device)], encoded.input_size, (ch, cw))
        if (ch, cw) != (height, width):
            canvas = np.zeros((len(full), height, width), bool)
            canvas[:, y0:y1, x0:x1] = full
            full = canvas
        clock.add("upsampling", start)
        masks_all.append(full)
        boxes_all.append(boxes[keep])
        scores_all.append(iou_t[keep])
        stab_all.append(stab[keep])
        level_all.append(level[keep])
        crop_area_all.append(torch.full((len(keep),), float((x1 - x0) * (y1 - y0))))

    masks = np.concatenate(masks_all)
    boxes, scores = torch.cat(boxes_all), torch.cat(scores_all)
    stab, level = torch.cat(stab_all), torch.cat(level_all)
    group = level if levels else torch.zeros_like(level)
    if len(masks_all) > 1 and len(masks):
        start = time.perf_counter()
        keep = batched_nms(boxes, 1 / torch.cat(crop_area_all), group, box_nms_thresh).numpy()  # prefer smaller crops
        masks, boxes, scores, stab, level, group = masks[keep], boxes[keep], scores[keep], stab[keep], level[keep], group[keep]
        clock.add("nms", start)
    if min_mask_region_area > 0 and len(masks):
        start = time.perf_counter()
        masks, keep = _remove_small_regions(masks, min_mask_region_area, group, box_nms_thresh)
        scores, stab, level, group = scores[keep], stab[keep], level[keep], group[keep]
        clock.add("small_regions", start)
    scores_np, stab_np = scores.numpy().astype(np.float32), stab.numpy().astype(np.float32)
    level_np = level.numpy().astype(np.int64) if levels else np.zeros(len(masks), np.int64)
    start = time.perf_counter()
    keep = grouped_mask_nms(masks, scores_np, level_np, mask_nms_thresh)
    clock.add("nms", start)
    assert latent is not None
    return Generated(masks[keep], scores_np[keep], stab_np[keep], level_np[keep], latent, whole_input_size, clock.seconds)


@dataclass(frozen=True)
class _Filters:
    """SAM's filters on a batch's candidates (the settings of `generate`)."""

    pred_iou_thresh: float
    stability_score_thresh: float
    stability_score_offset: float
    refine_margin: float | None


@dataclass(frozen=True)
class _Crop:
    """What the batches of prompts on one encoded image or crop share."""

    decoder: PromptDecoder
    box: list[int]
    """x0, y0, x1, y1 of the crop in the image."""
    image_size: tuple[int, int]
    """(height, width) of the whole image."""
    size: tuple[int, int]
    """(height, width) of the crop."""
    input_size: tuple[int, int]
    """(h, w) of the crop inside SAM's 1024 input frame."""
    in_boxes: bool
    """Candidates are upsampled inside their boxes (`_upsamples_in_boxes`)."""
    deferring: bool
    """Their upsampling waits for the box NMS (`lazy_box_nms`)."""


def _decode_batch(
    model: SamModel, crop: _Crop, filters: _Filters, batch: npt.NDArray[np.float64]
) -> tuple[_Candidates, dict[str, float]]:
    """The candidates of one batch of point prompts that pass SAM's filters, and the batch's time split."""
    import torch

    clock = _Clock()
    (h_in, w_in), (height, width) = crop.input_size, crop.image_size
    lh, lw = -(-h_in * LOW_RES // INPUT_SIZE), -(-w_in * LOW_RES // INPUT_SIZE)  # content of the 256 grid
    start = time.perf_counter()
    sparse = model.point_embeddings(batch[:, None, :], np.ones((len(batch), 1), np.int64))
    decoded = crop.decoder.decode(sparse, filters.pred_iou_thresh, content=(lh, lw))  # masks only where an IoU passes
    iou, wanted = decoded.iou, decoded.wanted
    start = clock.add("decoder", start)
    found = _Candidates(decoded.logits.flatten(0, 1), iou[wanted].flatten(), torch.arange(iou.shape[1]).repeat(int(wanted.sum())))
    passing = found.iou > filters.pred_iou_thresh if filters.pred_iou_thresh > 0 else torch.ones(len(found.iou), dtype=torch.bool)
    found.stab = stability_score(found.logits[:, :lh, :lw], filters.stability_score_offset).cpu()  # cheap: counts
    if filters.stability_score_thresh > 0:
        passing &= found.stab >= filters.stability_score_thresh - (filters.refine_margin or 0.0)
    found = found.where(passing)  # one copy of the survivors: the decoded logits are the decoder's buffer
    if filters.refine_margin is not None:  # SAM's own stability and boxes on the upsampled logits of these few
        start = clock.add("filtering", start)
        offset = filters.stability_score_offset
        if crop.deferring:  # upsampled in the box NMS, and only where it must (`lazy_box_nms`)
            found.deferred = Deferred.of(found.logits, crop.input_size, offset, crop.size)
            found.boxes = found.deferred.outer
        elif crop.in_boxes:
            found.pieces, found.stab = upsampled_masks(
                found.logits, crop.input_size, crop.size, offset, filters.stability_score_thresh
            )
            found.boxes = found.pieces.boxes
        else:
            found.stab, found.boxes = upsampled_scores(found.logits, crop.input_size, crop.size, offset)
        start = clock.add("upsampling", start)
        if not crop.deferring:
            found = found.where(found.stab >= filters.stability_score_thresh)
    else:
        found.boxes = _low_res_boxes(found.logits[:, :lh, :lw] > 0, crop.size, (h_in, w_in))
    x0, y0 = crop.box[:2]
    found.boxes = found.boxes + torch.tensor([x0, y0, x0, y0], dtype=torch.float)
    if crop.box != [0, 0, width, height]:
        found = found.where(~_near_crop_edge(found.boxes, crop.box, [0, 0, width, height]))
    if crop.in_boxes:  # the masks are in the pieces: let the batch's logits go
        found.logits = found.logits[:0]
    clock.add("filtering", start)
    return found, clock.seconds


def _remove_small_regions(
    masks: npt.NDArray[np.bool_], min_area: int, group: torch.Tensor, nms_thresh: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """SAM's small-region post-processing: fill small holes, drop small islands, re-run box NMS.

    Masks that changed rank below unchanged ones in the NMS (as in SAM). Returns the new masks and
    the indices kept.
    """
    import torch
    from scipy import ndimage
    from torchvision.ops import batched_nms

    eight = np.ones((3, 3), bool)
    out = np.empty_like(masks)
    unchanged = np.ones(len(masks), np.float32)
    for index, mask in enumerate(masks):
        for holes in (True, False):
            work = ~mask if holes else mask
            labels, n = ndimage.label(work, structure=eight)
            if n == 0:
                continue
            sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
            small = np.flatnonzero(sizes < min_area) + 1
            if len(small) == 0:
                continue
            unchanged[index] = 0
            if holes:
                mask = mask | np.isin(labels, small)
            else:
                big = np.flatnonzero(sizes >= min_area) + 1
                if len(big) == 0:
                    big = np.array([int(np.argmax(sizes)) + 1])
                mask = np.isin(labels, big)
        out[index] = mask
    boxes = mask_boxes(torch.from_numpy(out))
    keep = np.sort(batched_nms(boxes, torch.from_numpy(unchanged), group, nms_thresh).numpy())
    return out[keep], keep


def _flat(masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """(N, H, W) masks → (N, P) float rows at a long side of at most NMS_SIZE (area-averaged).

    One mask at a time through OpenCV's area resize (an exact block mean at an integer factor):
    converting the whole stack to float first made a float copy of every mask at full size.
    """
    import cv2

    n, height, width = masks.shape
    factor = max(1, int(np.ceil(max(height, width) / NMS_SIZE)))
    ph, pw = -height % factor, -width % factor
    size = ((width + pw) // factor, (height + ph) // factor)
    pooled = np.empty((n, size[1] * size[0]), np.float32)
    for index, mask in enumerate(masks):
        padded = np.pad(mask, ((0, ph), (0, pw))) if ph or pw else mask
        pooled[index] = cv2.resize(padded.view(np.uint8).astype(np.float32), size, interpolation=cv2.INTER_AREA).ravel()
    return pooled


def mask_nms(masks: npt.NDArray[np.bool_], scores: npt.NDArray[np.floating], threshold: float) -> npt.NDArray[np.int64]:
    """Indices of the masks kept by greedy NMS on mask IoU (highest score first), vectorised.

    IoUs of all pairs come from one matrix product of (downsampled) masks.
    """
    if len(masks) == 0 or threshold >= 1:
        return np.arange(len(masks))
    flat = _flat(masks)
    inter = flat @ flat.T
    area = np.diag(inter)
    iou = inter / np.maximum(area[:, None] + area[None, :] - inter, 1e-9)
    order = np.argsort(-np.asarray(scores), kind="stable")
    suppressed = np.zeros(len(masks), bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > threshold
    return np.array(keep, np.int64)


def grouped_mask_nms(
    masks: npt.NDArray[np.bool_], scores: npt.NDArray[np.floating], groups: npt.NDArray[np.integer], threshold: float
) -> npt.NDArray[np.int64]:
    """`mask_nms` within each group (e.g. level) on its own; the kept indices, sorted."""
    keep = [np.flatnonzero(groups == g)[mask_nms(masks[groups == g], scores[groups == g], threshold)] for g in np.unique(groups)]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
