"""SAM's postprocess of candidate masks, exactly and where it is cheap: the automatic generator's upsampling.

SAM upsamples a candidate's (256, 256) low-resolution logits bilinearly to the 1024 input frame
before it scores its stability and takes its box. Here:

* a candidate is upsampled only inside the box of its cells above −offset, grown by two cells
  (`upsampled_masks`): outside it every upsampled logit is at most −offset, so the numbers are
  those of upsampling the whole grid; masks are kept bit-packed inside their boxes (`Pieces`);
* on other devices the candidates' whole grids are upsampled in batches (`upsampled_scores`);
* the upsampling can wait for the box NMS (`Deferred`, `lazy_box_nms`): boxes bounded from the
  low-resolution logits (`box_bounds`) show most candidates suppressed by a kept twin, and only
  the rest are upsampled, with SAM's decisions unchanged;
* counts and ``any`` over booleans go through their bytes (`_count_true`, `_any`): PyTorch's own
  are many times slower on a CPU.

Why by hand: SAM's ``postprocess_masks`` and ``calculate_stability_score`` work on whole
upsampled grids only; no library upsamples inside boxes or defers the upsampling to the NMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from semlat.regions.sam import INPUT_SIZE, LOW_RES, upsampled_logits

FAR_BELOW = -1e4
"""The low-res logit `_upsampled_twice` gives the cells outside a candidate's support slice."""

if TYPE_CHECKING:
    import torch


def _any(masks: torch.Tensor, dim: int) -> torch.Tensor:
    """``masks.any(dim)`` of a boolean tensor, as the bytes' maximum: PyTorch's ``any`` over a CPU tensor's last dimension is many times slower."""
    import torch

    return masks.view(torch.uint8).amax(dim).bool()


def _count_true(masks: torch.Tensor) -> torch.Tensor:
    """(N, H, W) booleans → (N,) int32 counts.

    The bytes are summed down the columns in int16 first (H < 2¹⁵), then along the rows:
    PyTorch's ``sum(dtype=int32)`` over flattened booleans is many times slower on a CPU.
    """
    import torch

    if masks.shape[1] >= 1 << 15:
        return masks.flatten(1).sum(1, dtype=torch.int32)
    return masks.view(torch.uint8).sum(1, dtype=torch.int16).sum(1, dtype=torch.int32)


def _extent(any_along: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, L) booleans → (N,) first and last true index (L and −1 where none is)."""
    import torch

    rank = torch.arange(any_along.shape[1], device=any_along.device)
    first = torch.where(any_along, rank, any_along.shape[1]).min(1).values
    last = torch.where(any_along, rank, -1).max(1).values
    return first, last


def stability_score(logits: torch.Tensor, offset: float = 1.0, threshold: float = 0.0) -> torch.Tensor:
    """SAM's stability score of (N, H, W) logits: IoU of the masks at ``threshold`` + ``offset`` and − ``offset``."""
    inner = _count_true(logits > threshold + offset)
    outer = _count_true(logits > threshold - offset)
    return inner / outer.clamp(min=1)


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(N, h, w) boolean masks → (N, 4) x0, y0, x1, y1 pixel boxes (inclusive; 0s if empty)."""
    import torch

    if len(masks) == 0:
        return torch.zeros((0, 4), device=masks.device)
    y0, y1 = _extent(_any(masks, 2))
    x0, x1 = _extent(_any(masks, 1))
    boxes = torch.stack([x0, y0, x1, y1], 1).float()
    return boxes * (y1 >= 0)[:, None]


@dataclass
class Pieces:
    """Masks kept as the contents of their boxes, bit-packed: a mask costs its box at a bit a pixel, not the image.

    Why packed: every candidate that passes the stability filter waits for the box NMS, which
    keeps a few dozen of up to ~2,000; as bytes their crops took eight times the memory.

    Attributes:
        size: (H, W) of the frame the masks are in.
        origins: (N, 2) y, x of each piece's top-left corner in the frame.
        shapes: (N, 2) h, w of each piece.
        bits: N arrays, each piece's mask inside its box (``np.packbits`` of the flattened crop).
        boxes: (N, 4) x0, y0, x1, y1 pixel boxes in the frame (inclusive; 0s if empty), as `mask_boxes`.
    """

    size: tuple[int, int]
    origins: list[tuple[int, int]]
    shapes: list[tuple[int, int]]
    bits: list[npt.NDArray[np.uint8]]
    boxes: torch.Tensor

    @staticmethod
    def of(size: tuple[int, int], origins: list[tuple[int, int]], crops: list[npt.NDArray[np.bool_]]) -> Pieces:
        """Pieces from boolean crops placed at ``origins``."""
        import torch

        boxes = torch.zeros((len(crops), 4))
        for index, ((y0, x0), crop) in enumerate(zip(origins, crops, strict=True)):
            rows, cols = np.flatnonzero(crop.any(1)), np.flatnonzero(crop.any(0))
            if len(rows):
                boxes[index] = torch.tensor([x0 + cols[0], y0 + rows[0], x0 + cols[-1], y0 + rows[-1]], dtype=torch.float)
        return Pieces(size, list(origins), [crop.shape for crop in crops], [np.packbits(crop) for crop in crops], boxes)

    def __len__(self) -> int:
        return len(self.bits)

    def __getitem__(self, index: torch.Tensor) -> Pieces:
        picked = np.arange(len(self))[np.asarray(index)].tolist() if len(self) else []
        return Pieces(
            self.size,
            [self.origins[i] for i in picked],
            [self.shapes[i] for i in picked],
            [self.bits[i] for i in picked],
            self.boxes[picked] if len(self) else self.boxes,
        )

    @staticmethod
    def cat(parts: list[Pieces], size: tuple[int, int]) -> Pieces:
        import torch

        return Pieces(
            size,
            [o for part in parts for o in part.origins],
            [s for part in parts for s in part.shapes],
            [b for part in parts for b in part.bits],
            torch.cat([part.boxes for part in parts]) if parts else torch.zeros((0, 4)),
        )

    def dense(self) -> npt.NDArray[np.bool_]:
        """(N, H, W) boolean masks."""
        masks = np.zeros((len(self), *self.size), bool)
        for index, ((y0, x0), (h, w), bits) in enumerate(zip(self.origins, self.shapes, self.bits, strict=True)):
            masks[index, y0 : y0 + h, x0 : x0 + w] = np.unpackbits(bits, count=h * w).reshape(h, w).view(bool)
        return masks


def _support_slices(logits: torch.Tensor, offset: float) -> list[tuple[int, int, int, int] | None]:
    """Per candidate, the rows r0:r1 and columns c0:c1 of the low-res grid its upsampled logits above −``offset`` come from.

    Bilinear upsampling mixes only neighbouring cells, so outside the box of the cells above
    −``offset`` (grown by two cells) every upsampled logit is at most −offset: in neither of the
    stability score's counts and not in the mask. None: no cell is above −offset.
    """
    support = logits > -offset
    rows_first, rows_last = _extent(_any(support, 2))
    cols_first, cols_last = _extent(_any(support, 1))
    slices: list[tuple[int, int, int, int] | None] = []
    for r_first, r_last, c_first, c_last in zip(
        rows_first.tolist(), rows_last.tolist(), cols_first.tolist(), cols_last.tolist(), strict=True
    ):
        if r_last < 0:
            slices.append(None)
        else:
            slices.append((max(r_first - 2, 0), min(r_last + 3, LOW_RES), max(c_first - 2, 0), min(c_last + 3, LOW_RES)))
    return slices


def _upsampled_cells(
    cells: torch.Tensor, where: tuple[int, int, int, int], input_hw: tuple[int, int]
) -> tuple[tuple[int, int], torch.Tensor]:
    """The low-res ``cells`` at rows r0:r1, columns c0:c1 of the grid, upsampled ×4 as SAM upsamples the whole grid.

    Returns the (y, x) origin in the input frame and the logits there: the same kernel at the same
    sampling positions (the scale stays exactly 4), with the rows and columns whose sampling
    reaches past the slice (where the kernel clamps) dropped, and the frame's padding cut away.
    """
    import torch.nn.functional as F

    h, w = input_hw
    r0, r1, c0, c1 = where
    scale = INPUT_SIZE // LOW_RES
    part = F.interpolate(cells[None, None], (scale * (r1 - r0), scale * (c1 - c0)), mode="bilinear", align_corners=False)[0, 0]
    y0, x0 = scale * r0 + (2 if r0 > 0 else 0), scale * c0 + (2 if c0 > 0 else 0)
    y1 = min(scale * r1 - (2 if r1 < LOW_RES else 0), h)
    x1 = min(scale * c1 - (2 if c1 < LOW_RES else 0), w)
    return (y0, x0), part[y0 - scale * r0 : max(y1 - scale * r0, 0), x0 - scale * c0 : max(x1 - scale * c0, 0)]


def upsampled_masks(
    logits: torch.Tensor, input_hw: tuple[int, int], size: tuple[int, int], offset: float, keep_at: float = 0.0
) -> tuple[Pieces, torch.Tensor]:
    """(N, 256, 256) logits → the masks SAM's postprocess makes of them (as `Pieces`) and their stability scores.

    Candidates whose score is below ``keep_at`` (the stability filter's threshold, which drops them
    right after) get empty pieces, not masks. Each candidate is upsampled inside its support box
    (`_support_slices`, `_upsampled_cells`): the numbers are those of upsampling the whole grid.
    Where SAM resizes a second time (a crop smaller than the 1024 frame on its long side) the
    whole grid is upsampled, as SAM does.
    """
    import torch

    if tuple(input_hw) != tuple(size):
        return _upsampled_whole(logits, input_hw, size, offset)
    origins, crops, stab = [], [], torch.zeros(len(logits))
    for index, where in enumerate(_support_slices(logits, offset)):
        if where is not None:
            r0, r1, c0, c1 = where
            origin, part = _upsampled_cells(logits[index, r0:r1, c0:c1], where, input_hw)
            stab[index] = stability_score(part[None], offset)[0]
            if stab[index] >= keep_at:
                origins.append(origin)
                crops.append((part > 0).numpy())
                continue
        origins.append((0, 0))
        crops.append(np.zeros((0, 0), bool))
    return Pieces.of(tuple(size), origins, crops), stab


def _upsampled_whole(
    logits: torch.Tensor, input_hw: tuple[int, int], size: tuple[int, int], offset: float
) -> tuple[Pieces, torch.Tensor]:
    """`upsampled_masks` through SAM's two resizes of the whole grid (the pieces are whole masks)."""
    import torch

    crops, stab = [], torch.zeros(len(logits))
    for first, x in upsampled_logits(logits, input_hw, size, budget=1 << 24):
        crops.extend((x > 0).numpy())
        stab[first : first + len(x)] = stability_score(x, offset)
    return Pieces.of(tuple(size), [(0, 0)] * len(crops), crops), stab


def upsampled_scores(
    logits: torch.Tensor, input_hw: tuple[int, int], size: tuple[int, int], offset: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """SAM's stability scores and boxes of the upsampled masks, computed where the logits are (a GPU: the whole grid, batched).

    Nothing but the (N,) scores and (N, 4) boxes leaves the device; the survivors of the box NMS
    are upsampled once more at the end (`full_resolution_masks`), to the same numbers.
    """
    import torch

    stab, boxes = torch.zeros(len(logits)), torch.zeros((len(logits), 4))
    for first, x in upsampled_logits(logits, input_hw, size, budget=1 << 26):
        stab[first : first + len(x)] = stability_score(x, offset).cpu()
        boxes[first : first + len(x)] = mask_boxes(x > 0).cpu()
    return stab, boxes


@dataclass
class Deferred:
    """Candidates whose upsampling waits for the box NMS: their low-res cells and bounds on their full-resolution boxes.

    Of the many candidates an image's low-res filters keep, SAM's box NMS keeps a few;
    most fall to a near twin with a higher score. Boxes bounded from the low-res logits
    (`box_bounds`) already show that for most of them, so only the rest are upsampled
    (`lazy_box_nms`), and the decisions stay SAM's own.

    Attributes:
        cells: per candidate, its low-res logits inside its support (`_support_slices`), or None.
        slices: where those cells are in the grid (r0, r1, c0, c1).
        inner: (N, 4) x0, y0, x1, y1 of a box inside the full-resolution box (x0 > x1: none known).
        outer: (N, 4) a box around it.
    """

    cells: list[torch.Tensor | None]
    slices: list[tuple[int, int, int, int] | None]
    inner: torch.Tensor
    outer: torch.Tensor

    @staticmethod
    def of(logits: torch.Tensor, input_hw: tuple[int, int], offset: float, size: tuple[int, int] | None = None) -> Deferred:
        """``size``: the photo's (height, width) when SAM resizes a second time (see `resized_bounds`)."""
        slices = _support_slices(logits, offset)
        cells = [
            None if where is None else logits[i, where[0] : where[1], where[2] : where[3]].clone()
            for i, where in enumerate(slices)
        ]
        inner, outer = box_bounds(logits, input_hw)
        if size is not None and tuple(size) != tuple(input_hw):
            inner, outer = resized_bounds(inner, outer, input_hw, size)
        return Deferred(cells, slices, inner, outer)

    def __getitem__(self, index: torch.Tensor) -> Deferred:
        picked = np.arange(len(self.cells))[np.asarray(index)].tolist()
        return Deferred([self.cells[i] for i in picked], [self.slices[i] for i in picked], self.inner[picked], self.outer[picked])

    @staticmethod
    def cat(parts: list[Deferred]) -> Deferred:
        import torch

        return Deferred(
            [c for part in parts for c in part.cells],
            [w for part in parts for w in part.slices],
            torch.cat([part.inner for part in parts]),
            torch.cat([part.outer for part in parts]),
        )


def box_bounds(logits: torch.Tensor, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4) boxes inside and around the boxes of SAM's upsampled masks (``> 0`` in the input frame, cut to ``input_hw``).

    An upsampled pixel mixes the (at most) four cells around its sampling position with positive
    weights: it can be positive only if one of them is (around: pixel rows 4r − 2 … 4r + 5 of the
    positive cells' rows r), and is positive where all four are (inside: rows 4r + 2 … 4r + 5 of a
    2×2 block of positive cells; likewise for columns). A mask with no pixel in the frame gets an
    inside box with x0 > x1, which bounds nothing, and its (empty) box is not inside the outside
    one: that box bounds only its area then.
    """
    import torch

    h, w = input_hw
    scale = INPUT_SIZE // LOW_RES
    positive = logits > 0
    # 2x2 blocks whose pixels start inside the frame: a cell, the one below, and the two to their right
    rows_in, cols_in = min((h - 3) // scale + 1, LOW_RES - 1), min((w - 3) // scale + 1, LOW_RES - 1)
    pairs = positive[:, :rows_in] & positive[:, 1 : rows_in + 1]
    blocks = pairs[:, :, :cols_in] & pairs[:, :, 1 : cols_in + 1]
    bounds = []
    for cells, low, high in ((positive, -2, 5), (blocks, 2, 5)):
        rows_first, rows_last = _extent(_any(cells, 2))
        cols_first, cols_last = _extent(_any(cells, 1))
        box = torch.stack(
            [
                (scale * cols_first + low).clamp(min=0),
                (scale * rows_first + low).clamp(min=0),
                (scale * cols_last + high).clamp(max=w - 1),
                (scale * rows_last + high).clamp(max=h - 1),
            ],
            1,
        ).float()
        box[rows_last < 0] = torch.tensor([1.0, 1.0, 0.0, 0.0])  # none
        bounds.append(box)
    outer, inner = bounds
    outer[outer[:, 0] > outer[:, 2]] = 0.0  # no positive cell: the empty mask's box
    return inner, outer


def resized_bounds(
    inner: torch.Tensor, outer: torch.Tensor, input_hw: tuple[int, int], size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """`box_bounds` of the input frame carried through SAM's second resize (bilinear, to the photo's ``size``).

    A resized pixel ``x`` mixes input pixels ``⌊src⌋`` and the next, ``src = (x + ½)·w_in/W − ½``,
    with positive weights: it can be positive only if one of them lies in the outside box, and it
    is positive if both lie in the inside box. One pixel more on each side absorbs the rounding.
    """
    import torch

    (h_in, w_in), (height, width) = input_hw, size
    scale = torch.tensor([w_in / width, h_in / height] * 2, dtype=torch.float64)
    limit = torch.tensor([width - 1, height - 1] * 2, dtype=torch.float64)
    low = outer.double()
    outside = torch.stack(
        [
            torch.floor((low[:, 0] - 0.5) / scale[0] - 0.5) - 1,
            torch.floor((low[:, 1] - 0.5) / scale[1] - 0.5) - 1,
            torch.ceil((low[:, 2] + 1.5) / scale[2] - 0.5) + 1,
            torch.ceil((low[:, 3] + 1.5) / scale[3] - 0.5) + 1,
        ],
        1,
    )
    outside = torch.minimum(outside.clamp(min=0), limit)
    outside[(outer == 0).all(1)] = 0.0  # no positive cell: the empty mask's box stays the zero box
    high = inner.double()
    inside = torch.stack(
        [
            torch.ceil((high[:, 0] + 0.5) / scale[0] - 0.5) + 1,
            torch.ceil((high[:, 1] + 0.5) / scale[1] - 0.5) + 1,
            torch.floor((high[:, 2] + 0.5) / scale[2] - 0.5) - 1,
            torch.floor((high[:, 3] + 0.5) / scale[3] - 0.5) - 1,
        ],
        1,
    )
    none = (inner[:, 0] > inner[:, 2]) | (inside[:, 0] > inside[:, 2]) | (inside[:, 1] > inside[:, 3])
    inside[none] = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    return inside.float(), outside.float()


def _upsampled_twice(
    cells: torch.Tensor, where: tuple[int, int, int, int], input_hw: tuple[int, int], size: tuple[int, int], offset: float
) -> tuple[tuple[int, int], torch.Tensor]:
    """The low-res ``cells`` at rows r0:r1, columns c0:c1 through SAM's two resizes, cut to the logits above −``offset``.

    The grid outside the slice reads `FAR_BELOW`. That changes only pixels at or below −offset:
    a pixel above it has a cell above it within one cell, whose neighbours two cells deep (the
    slice's margin, `_support_slices`) are all the pixel and its resized neighbours read. Returns
    the (y, x) origin in the photo and the logits there.
    """
    import torch
    import torch.nn.functional as F

    r0, r1, c0, c1 = where
    grid = torch.full((1, 1, LOW_RES, LOW_RES), FAR_BELOW)
    grid[0, 0, r0:r1, c0:c1] = cells
    (h, w) = input_hw
    x = F.interpolate(grid, (INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)[..., :h, :w]
    x = F.interpolate(x, tuple(size), mode="bilinear", align_corners=False)[0, 0]
    (ya, yb), (xa, xb) = _reach(r0, r1, h, size[0]), _reach(c0, c1, w, size[1])
    x = x[ya:yb, xa:xb]  # outside it every pixel mixes FAR_BELOW cells alone
    if not x.numel():  # the cells lie in the padding of SAM's frame
        return (0, 0), x[:0, :0]
    above = x > -offset
    rows, cols = torch.nonzero(_any(above, 1)).flatten(), torch.nonzero(_any(above, 0)).flatten()
    if not len(rows):
        return (0, 0), x[:0, :0]
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return (ya + y0, xa + x0), x[y0:y1, x0:x1]


def _reach(first: int, stop: int, frame: int, photo: int) -> tuple[int, int]:
    """The photo pixels (along one axis) that the low-res cells ``first:stop`` reach through SAM's two resizes.

    An input-frame pixel mixes the two cells around ``(y + ½)/4 − ½``, a photo pixel the two
    input pixels around ``(y + ½)·frame/photo − ½``; a few pixels more on each side absorb the
    rounding. The rest of the photo reads grid cells outside the slice only.
    """
    scale = INPUT_SIZE // LOW_RES
    low, high = scale * first - 4, scale * stop + 4  # input-frame pixels that read the cells
    ratio = photo / frame
    return max(int(np.floor(low * ratio)) - 3, 0), min(int(np.ceil((high + 1) * ratio)) + 3, photo)


def _area(boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _overlap(box: npt.NDArray[np.float32], others: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """torchvision's intersection of ``box`` with each of ``others`` (widths and heights clamped at 0, no +1)."""
    width = np.maximum(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), np.float32(0))
    height = np.maximum(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), np.float32(0))
    return width * height


def lazy_box_nms(
    deferred: Deferred,
    scores: torch.Tensor,
    group: torch.Tensor,
    nms_thresh: float,
    stability_thresh: float,
    offset: float,
    input_hw: tuple[int, int],
    size: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Pieces]:
    """``batched_nms`` over the candidates that pass SAM's stability filter, upsampling only those it must.

    Candidates go by decreasing score, as in torchvision's NMS. One whose box is bound to overlap a
    kept box of its group by more than ``nms_thresh`` (the IoU of its inside box with the kept box
    over the union its outside box could make, ``box_bounds``) is dropped unseen: suppressed if it
    passes the stability filter, filtered out if not, and either way it suppresses nothing. The
    others are upsampled in their support (the exact stability score, box and mask), then kept or
    suppressed on torchvision's own float32 IoU. ``size``: the photo's (height, width) when SAM
    resizes a second time (the ``deferred`` bounds are then the photo's, `resized_bounds`).
    Returns the kept indices (decreasing score), their stability scores, boxes and masks.
    """
    import torch

    size = tuple(size or input_hw)
    twice = size != tuple(input_hw)

    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    inner, outer = deferred.inner.numpy(), deferred.outer.numpy()
    kept_boxes: dict[int, list[npt.NDArray[np.float32]]] = {}
    keep, stab, pieces = [], [], []
    for index in order:
        family = int(group[index])
        theirs = np.array(kept_boxes.get(family, []), np.float32).reshape(-1, 4)
        if len(theirs) and inner[index, 0] <= inner[index, 2]:
            least = _overlap(inner[index], theirs).astype(np.float64)
            most_union = float(_area(outer[index])) + _area(theirs).astype(np.float64) - least
            if (least > (nms_thresh + 1e-6) * most_union).any():
                continue
        where, cells = deferred.slices[index], deferred.cells[index]
        if where is None or cells is None:
            origin, part = (0, 0), torch.zeros((0, 0))
        elif twice:
            origin, part = _upsampled_twice(cells, where, input_hw, size, offset)
        else:
            origin, part = _upsampled_cells(cells, where, input_hw)
        score = stability_score(part[None], offset)[0]
        if score < stability_thresh:  # a float32 comparison, as the filter of the other paths makes it
            continue
        piece = Pieces.of(size, [origin], [(part > 0).numpy()])
        box = piece.boxes[0].numpy()
        if len(theirs):
            inter = _overlap(box, theirs)
            if ((inter / (_area(box) + _area(theirs) - inter)).astype(np.float64) > nms_thresh).any():  # as torchvision compares
                continue
        kept_boxes.setdefault(family, []).append(box)
        keep.append(index)
        stab.append(float(score))
        pieces.append(piece)
    found = Pieces.cat(pieces, size)
    return torch.tensor(keep, dtype=torch.long), torch.tensor(stab), found.boxes, found
