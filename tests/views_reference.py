"""The region views as semlat made them before the uint8 path: float32 resizes, full-mask decodes.

Kept as the reference that the uint8 views are checked and benchmarked against.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from semlat.crops import MASK_WEIGHT, crop_box
from semlat.types import Region


def float_view(image: torch.Tensor, mask: np.ndarray, region: Region, strategy: str, size: int) -> torch.Tensor:
    """The views as they were made in float32 before the uint8 path (values in [0, 1])."""

    def resize(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(x[None], size=shape, mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)

    def center(x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        scale = size / min(height, width)
        new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
        top, left = (new_h - size) // 2, (new_w - size) // 2
        return resize(x, (new_h, new_w))[:, top : top + size, left : left + size]

    if strategy == "whole":
        return center(image)
    if strategy == "masked-full":
        return center(image * (MASK_WEIGHT * torch.from_numpy(mask)))
    x0, y0, x1, y1 = crop_box(region.bbox, *mask.shape)
    patch = image[:, y0:y1, x0:x1]
    if strategy == "masked-crop":
        patch = patch * torch.from_numpy(mask[y0:y1, x0:x1])
    height, width = patch.shape[-2:]
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return resize(F.pad(patch, (left, side - width - left, top, side - height - top)), (size, size))
