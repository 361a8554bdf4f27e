"""A weight-free region proposer (scikit-image graph segmentation), so the pipeline runs without SAM."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.errors import SemlatError
from semlat.settings import AREA_FRACTION, NON_NEGATIVE, POSITIVE, Range, check_ranges, ranged
from semlat.types import Region

METHODS = ("felzenszwalb", "slic")


@dataclass(frozen=True)
class ClassicalSettings:
    """Settings of the weight-free ``classical`` backend.

    Felzenszwalb (default) or SLIC superpixels on a downscaled copy, upscaled to full resolution.
    Segmenting at a fixed working size keeps the cost per image flat and makes the defaults mean
    the same thing for a 256-pixel render and a 4000-pixel photo.

    Args:
        method: felzenszwalb or slic.
        work_size: long side (pixels) of the copy that is segmented.
        scale: Felzenszwalb's scale (larger gives larger regions).
        n_segments: SLIC's target number of superpixels.
        min_area: smallest region kept, as a fraction of the image area.
        max_regions: keep at most this many regions per image, largest first (0: all).
    """

    method: str = "felzenszwalb"
    work_size: int = ranged(320, Range(16, 8192))
    scale: float = ranged(400.0, Range(0, low_open=True))
    n_segments: int = ranged(48, POSITIVE)
    min_area: float = ranged(0.002, AREA_FRACTION)
    max_regions: int = ranged(64, NON_NEGATIVE)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SemlatError(f"unknown classical method {self.method!r}: use felzenszwalb or slic")
        check_ranges(self)


class ClassicalProposer:
    """Superpixel regions of one image at a time (see `ClassicalSettings`).

    Args:
        settings: the backend's settings (default: `ClassicalSettings()`).
    """

    name = "classical"

    def __init__(self, settings: ClassicalSettings | None = None) -> None:
        self.settings = settings or ClassicalSettings()

    def config(self) -> dict[str, Any]:
        return asdict(self.settings)

    def _segment(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
        from skimage.segmentation import felzenszwalb, slic  # scipy with it: imported when used, not with the settings

        settings = self.settings
        height, width = image.shape[:2]
        factor = min(1.0, settings.work_size / max(height, width))
        small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = np.asarray(Image.fromarray(image).resize(small_size, Image.BILINEAR)) if factor < 1 else image
        if settings.method == "felzenszwalb":
            min_size = max(1, int(settings.min_area * small.shape[0] * small.shape[1]))
            labels = felzenszwalb(small, scale=settings.scale, sigma=0.8, min_size=min_size)
        else:
            labels = slic(small, n_segments=settings.n_segments, compactness=10.0, start_label=0)
        labels = labels.astype(np.int32)
        if factor < 1:
            labels = np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST), dtype=np.int32)
        return labels

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        settings = self.settings
        labels = self._segment(image)
        areas = np.bincount(labels.reshape(-1))
        order = np.argsort(-areas, kind="stable")
        keep = [int(segment) for segment in order if areas[segment] >= max(1.0, settings.min_area * labels.size)]
        if settings.max_regions > 0:
            keep = keep[: settings.max_regions]
        return [Region.from_mask(region_id, labels == segment) for region_id, segment in enumerate(keep)]
