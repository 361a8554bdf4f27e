"""How a region becomes the square image CLIP sees.

- ``masked-full`` (the original): the whole image times the mask weight, shorter side resized
  to S and centre-cropped, so a region near the border can be cut away by the crop.
- ``masked-crop`` (default): background blacked out, cropped to the mask's box plus a margin,
  padded to a square, resized: the region fills the view and nothing is cropped away.
- ``crop``: the same box crop and padding without masking (context kept).
The whole image always uses the original's resize + centre crop.

Views are made from the image's uint8 pixels (`Pixels`) and come out as uint8 (3, S, S):
PyTorch's antialiased bicubic resize has a vectorised uint8 kernel for channels-last images,
10–25× faster on a CPU than the same resize in float32, whose numbers are PIL's bicubic resize
(within 2 levels), as OpenCLIP's own preprocessing makes its images; the float32 views differed
from those by up to 0.06 at sharp mask edges (``tests/encoders/test_views.py`` checks both). The crop strategies decode only the mask's box (`semlat.rle.decode_box`), so a
region costs its box, not the image. `Encoder.encode_images` takes uint8 batches and scales them
on the model's device (a quarter of the bytes of float32 to move).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from semlat import rle as rle_ops
from semlat.crops import MASK_WEIGHT, crop_box
from semlat.errors import SemlatError
from semlat.types import Region

STRATEGIES = ("masked-crop", "masked-full", "crop")


class Pixels:
    """An image's uint8 pixels on a device, four bytes a pixel (R, G, B and a zero byte), made once per image.

    Why four: a pixel is then one int32, so masking a box is one integer multiply per pixel
    (a tenth of the time of broadcasting a mask over three channels), and PyTorch's uint8
    resize works on four channels internally anyway (the same numbers, the same speed). On a
    GPU the image is uploaded once and every view is cut and resized there.
    """

    def __init__(self, rgb: npt.NDArray[np.uint8], device: torch.device | str = "cpu") -> None:
        height, width = rgb.shape[:2]
        rgbx = np.zeros((height, width, 4), np.uint8)
        rgbx[..., :3] = rgb
        self.rgbx = torch.from_numpy(rgbx).to(device)
        self.words = self.rgbx.view(torch.int32)[..., 0]  # (H, W): one int32 per pixel

    @property
    def size(self) -> tuple[int, int]:
        return self.words.shape[0], self.words.shape[1]


def _resize(words: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of packed pixels (rounded, saturated) → (3, h, w) uint8.

    On a CPU, PyTorch's uint8 kernel (channels last); elsewhere there is none, so the same
    filter in float32, rounded to whole levels (within a few levels of the CPU's numbers).
    """
    image = words.contiguous().view(torch.uint8).reshape(*words.shape, 4).unsqueeze(0).permute(0, 3, 1, 2)
    if image.device.type == "cpu":
        return F.interpolate(image, size=size, mode="bicubic", antialias=True)[0, :3]
    return _resize_float(image, size)


def _resize_float(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 4, h, w) uint8 → (3, size) uint8 through the float32 filter (the devices without a uint8 one)."""
    resized = F.interpolate(image.float(), size=size, mode="bicubic", antialias=True)
    return resized.round_().clamp_(0, 255).to(torch.uint8)[0, :3]


def resize_center_crop(pixels: Pixels, size: int) -> torch.Tensor:
    """torchvision's Resize(size, bicubic) + CenterCrop(size) of the whole image → (3, size, size) uint8."""
    return _center_crop(pixels.words, size)


def _center_crop(words: torch.Tensor, size: int) -> torch.Tensor:
    height, width = words.shape
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    resized = _resize(words, (new_h, new_w))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[:, top : top + size, left : left + size].contiguous()


def region_view(
    pixels: Pixels, region: Region, strategy: str, size: int, mask: npt.NDArray[np.bool_] | None = None
) -> torch.Tensor:
    """The (3, size, size) uint8 view of one region under ``strategy``, on the pixels' device.

    Args:
        pixels: the image (`Pixels`).
        region: the region: its box, and its mask when ``mask`` is not given.
        strategy: one of `STRATEGIES`.
        size: the model's input side.
        mask: the (H, W) boolean mask, when the caller has it decoded already.
    """
    if strategy not in STRATEGIES:
        raise SemlatError(f"unknown region strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    height, width = pixels.size
    x0, y0, x1, y1 = crop_box(region.bbox, height, width)
    patch = pixels.words[y0:y1, x0:x1]
    if strategy != "crop":
        box_mask = mask[y0:y1, x0:x1] if mask is not None else rle_ops.decode_box(region.rle, (x0, y0, x1, y1))
        inside = torch.from_numpy(np.ascontiguousarray(box_mask)).to(patch.device)
        if strategy == "masked-full":  # the image times the mask weight: zero outside the box too
            weighted = torch.zeros_like(pixels.words)
            lut = _WEIGHTED.to(patch.device)
            box = lut[pixels.rgbx[y0:y1, x0:x1].long()].view(torch.int32)[..., 0]
            torch.mul(box, inside, out=weighted[y0:y1, x0:x1])
            return _center_crop(weighted, size)
    side = max(patch.shape)
    top, left = (side - patch.shape[0]) // 2, (side - patch.shape[1]) // 2
    square = torch.zeros((side, side), dtype=torch.int32, device=patch.device)
    placed = square[top : top + patch.shape[0], left : left + patch.shape[1]]
    if strategy == "crop":
        placed.copy_(patch)
    else:
        torch.mul(patch, inside, out=placed)
    return _resize(square, (size, size)).contiguous()


_WEIGHTED = torch.from_numpy(np.round(np.arange(256) * MASK_WEIGHT).astype(np.uint8))
"""Each byte value times `MASK_WEIGHT`, rounded (masked-full's weighting of the pixels)."""
