"""Row-wise L2 normalisation, the one copy every stage uses (features are compared by cosine)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EPS = 1e-12
"""Norms below this count as zero: a zero vector stays zero instead of becoming NaN."""


def normalize(vectors: npt.ArrayLike, dtype: npt.DTypeLike = np.float32) -> npt.NDArray[np.floating]:
    """L2-normalise the last axis, returned as ``dtype``.

    Computed in float64 when ``dtype`` is float64, else in float32: NumPy's pairwise sums keep
    the float32 result within float32's rounding of float64's (`tests/test_vectors.py`), without
    a float64 copy of every row (most of the time for a search's thousands of stored vectors).
    """
    work = np.float64 if np.dtype(dtype).itemsize > 4 else np.float32
    x = np.asarray(vectors, dtype=work)
    norms = np.sqrt(np.add.reduce(x * x, axis=-1, keepdims=True))
    return (x / np.maximum(norms, EPS)).astype(dtype, copy=False)
