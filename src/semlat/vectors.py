"""Row-wise L2 normalisation, the one copy every stage uses (features are compared by cosine)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EPS = 1e-12
"""Norms below this count as zero: a zero vector stays zero instead of becoming NaN."""


def normalize(vectors: npt.ArrayLike, dtype: npt.DTypeLike = np.float32) -> npt.NDArray[np.floating]:
    """L2-normalise the last axis (computed in float64, returned as ``dtype``)."""
    x = np.asarray(vectors, dtype=np.float64)
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)).astype(dtype)
