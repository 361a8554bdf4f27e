"""Masks as COCO run-length encodings (pycocotools), at full image resolution.

pycocotools encodes and decodes; the one thing it does not expose is the run lengths of a
compressed RLE, which the query fast path needs to work on runs instead of pixels. `runs`
decodes pycocotools' compact string format (maskApi.c, rleFrString) with numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pycocotools import mask as mask_utils

RLE = dict  # {"size": [height, width], "counts": str}


def encode(mask: npt.NDArray[np.bool_]) -> RLE:
    """Encode one (H, W) boolean mask as a compressed COCO RLE with a str ``counts``."""
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _coco(rle: RLE) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def decode(rle: RLE) -> npt.NDArray[np.bool_]:
    """Decode a COCO RLE to an (H, W) boolean mask."""
    return mask_utils.decode(_coco(rle)).astype(bool)


def area(rle: RLE) -> int:
    return int(mask_utils.area(_coco(rle)))


def bbox(rle: RLE) -> tuple[float, float, float, float]:
    """Bounding box (x, y, w, h) in pixels."""
    x, y, w, h = mask_utils.toBbox(_coco(rle))
    return float(x), float(y), float(w), float(h)


def runs(rle: RLE) -> npt.NDArray[np.int64]:
    """Alternating run lengths (background first) in column-major pixel order.

    Vectorised port of pycocotools' rleFrString: every value is little-endian 5-bit groups
    offset by 48, 0x20 marks a continuation, 0x10 in the last group is the sign, and from
    the fourth value on each value is stored as a difference to the value two before it.
    """
    counts = rle["counts"]
    data = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else counts, dtype=np.uint8)
    if data.size == 0:
        return np.zeros(0, dtype=np.int64)
    chunk = data.astype(np.int64) - 48
    last = (chunk & 0x20) == 0
    ends = np.flatnonzero(last)
    starts = np.concatenate(([0], ends[:-1] + 1))
    value_of_chunk = np.repeat(np.arange(ends.size), ends - starts + 1)
    shift = 5 * (np.arange(chunk.size) - starts[value_of_chunk])
    values = np.bincount(value_of_chunk, weights=(chunk & 0x1F) << shift, minlength=ends.size).astype(np.int64)
    negative = (chunk[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * (ends - starts + 1)[negative])
    # Undo the delta coding: value m (m > 2) was stored minus value m - 2.
    out = values.copy()
    out[2::2] = np.cumsum(values[2::2])
    out[1::2] = np.cumsum(values[1::2])
    return out
