"""How a region becomes the square image CLIP sees.

- ``masked-full`` (the original): the whole image times the mask weight, shorter side resized
  to S and centre-cropped, so a region near the border can be cut away by the crop.
- ``masked-crop`` (default): background blacked out, cropped to the mask's box plus a margin,
  padded to a square, resized: the region fills the view and nothing is cropped away.
- ``crop``: the same box crop and padding without masking (context kept).
The whole image always uses the original's resize + centre crop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semlat.crops import MASK_WEIGHT, crop_box
from semlat.errors import SemlatError
from semlat.types import Region

STRATEGIES = ("masked-crop", "masked-full", "crop")


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    resized = F.interpolate(image.unsqueeze(0), size=size, mode="bicubic", align_corners=False, antialias=True)
    return resized.squeeze(0).clamp_(0.0, 1.0)


def resize_center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """torchvision's Resize(size, bicubic) + CenterCrop(size) on a (3, H, W) tensor in [0, 1]."""
    height, width = image.shape[-2:]
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    resized = _resize(image, (new_h, new_w))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[:, top : top + size, left : left + size]


def pad_square_resize(patch: torch.Tensor, size: int) -> torch.Tensor:
    """Pad a (3, h, w) patch with black to a centred square, then resize to (size, size)."""
    height, width = patch.shape[-2:]
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    square = F.pad(patch, (left, side - width - left, top, side - height - top))
    return _resize(square, (size, size))


def region_view(image: torch.Tensor, mask: torch.Tensor, region: Region, strategy: str, size: int) -> torch.Tensor:
    """The (3, size, size) view of one region under ``strategy``.

    Args:
        image: (3, H, W) float image in [0, 1].
        mask: (H, W) bool mask of the region.
        region: the region (its box is used by the crop strategies).
        strategy: one of `STRATEGIES`.
        size: the model's input side.
    """
    if strategy == "masked-full":
        return resize_center_crop(image * (MASK_WEIGHT * mask), size)
    height, width = mask.shape
    x0, y0, x1, y1 = crop_box(region.bbox, height, width)
    patch = image[:, y0:y1, x0:x1]
    if strategy == "masked-crop":
        patch = patch * mask[y0:y1, x0:x1]
    elif strategy != "crop":
        raise SemlatError(f"unknown region strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    return pad_square_resize(patch, size)
