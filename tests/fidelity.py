"""How faithfully one set of masks reproduces another (ours against segment-anything's generator)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def mask_ious(reference: npt.NDArray[np.bool_], ours: npt.NDArray[np.bool_], chunk: int = 1 << 16) -> npt.NDArray[np.float64]:
    """(R, N) exact IoUs of every reference mask with every one of ours (same (H, W))."""
    r, n = len(reference), len(ours)
    if r == 0 or n == 0:
        return np.zeros((r, n))
    ref = reference.reshape(r, -1)
    mine = ours.reshape(n, -1)
    inter = np.zeros((r, n))
    for start in range(0, ref.shape[1], chunk):
        inter += ref[:, start : start + chunk].astype(np.float32) @ mine[:, start : start + chunk].astype(np.float32).T
    area_r, area_n = ref.sum(1).astype(np.float64), mine.sum(1).astype(np.float64)
    return inter / np.maximum(area_r[:, None] + area_n[None, :] - inter, 1)


def fidelity(reference: npt.NDArray[np.bool_], ours: npt.NDArray[np.bool_], min_area: float = 0.002, iou: float = 0.9) -> dict:
    """The share of reference masks of at least ``min_area`` of the image that one of ours matches at ``iou``."""
    reference = np.asarray(reference, bool)
    if len(reference):
        height, width = reference.shape[1:]
        reference = reference[reference.reshape(len(reference), -1).sum(1) >= min_area * height * width]
    best = mask_ious(reference, np.asarray(ours, bool)).max(1) if len(reference) and len(ours) else np.zeros(len(reference))
    matched = int((best >= iou).sum())
    return {
        "reference_masks": len(reference),
        "ours": len(ours),
        "matched": matched,
        "fraction": matched / len(reference) if len(reference) else 1.0,
        "median_best_iou": float(np.median(best)) if len(best) else None,
    }
