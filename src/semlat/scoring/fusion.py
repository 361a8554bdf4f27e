"""Per-pixel fused CLIP scores for text prompts, computed in run-length space.

The original builds a K×H×W×C tensor (mask weights × region features) to fuse features per
pixel, which does not fit in memory beyond toy sizes. But a pixel's fused feature depends only on
*which* masks cover it, and in column-major order that set only changes at the masks' run
boundaries. So we

1. cut the flattened column-major pixel range at every run start/end of every mask into
   "segments" whose covering set is constant (a few thousand);
2. reduce the segments to their unique membership patterns (a few hundred);
3. score every pattern exactly with Gram matrices (K×P, K×K: nothing of size D per pixel);
4. paint each pixel with its pattern's scores (one gather into the row-major output).

Fused features (w_i(p) = mask_weight inside mask i, else 0; g the whole-image feature):

- ``sum`` (the original): f(p) = normalize(g + Σ_i w_i(p) f_i)
- ``conceptfusion``: a = softmax_i(g·f_i), f_i' = normalize(a_i g + (1 − a_i) f_i),
  f(p) = normalize(Σ_{i ∋ p} f_i')
- ``region``: f(p) = normalize(Σ_i w_i(p) f_i)

For ``conceptfusion`` and ``region`` a pixel in no mask falls back to g.

Scores: ``cosine`` f·t_j; ``softmax`` (the original) softmax_j(100 f·t_j); ``relevancy`` (LERF)
min over canonical phrases c of 1 / (1 + exp(10 (f·φ_c − f·t_j))).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from semlat.crops import MASK_WEIGHT
from semlat.errors import SemlatError
from semlat.rle import RLE, runs
from semlat.vectors import EPS as _EPS
from semlat.vectors import normalize

FUSIONS = ("sum", "conceptfusion", "region")
SCORES = ("softmax", "relevancy", "cosine")


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run tiny matrix products on one thread.

    OpenBLAS splits a (U×K)·(K×K) product over all cores; with another process busy on them
    that spin-waiting made a 0.1 ms product take 10-20 ms.
    """
    controller = _blas_controller()
    with controller.limit(limits=1, user_api="blas"):  # type: ignore[attr-defined]
        yield


def segment_patterns(
    rles: Sequence[RLE], shape: tuple[int, int]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Split the column-major pixel range into runs of constant mask membership.

    Returns ``(patterns, pattern_of_segment, lengths)``: the (U, K) unique membership rows, the
    pattern index of every segment, and every segment's length in pixels (they sum to H·W).
    """
    n_pixels = shape[0] * shape[1]
    starts, ends, starts_id, ends_id = [], [], [], []
    for i, rle in enumerate(rles):
        bounds = np.cumsum(runs(rle))
        n_fg = bounds.size // 2  # runs alternate background/foreground, background first
        starts.append(bounds[0 : 2 * n_fg : 2])
        ends.append(bounds[1 : 2 * n_fg : 2])
        starts_id.append(np.full(n_fg, i))
        ends_id.append(np.full(n_fg, i))
    events = np.concatenate([np.array([0, n_pixels], dtype=np.int64), *starts, *ends])
    events.sort()
    breakpoints = events[np.concatenate(([True], events[1:] != events[:-1]))]  # np.unique, 4× faster
    # Membership changes only at breakpoints: +1 where a run starts, -1 where it ends.
    delta = np.zeros((breakpoints.size, len(rles)), dtype=np.int8)
    if rles:
        delta[np.searchsorted(breakpoints, np.concatenate(starts)), np.concatenate(starts_id)] = 1
        delta[np.searchsorted(breakpoints, np.concatenate(ends)), np.concatenate(ends_id)] -= 1
    member = np.cumsum(delta, axis=0, dtype=np.int8)[:-1].astype(bool)
    lengths = np.diff(breakpoints)
    if not rles:
        return member[:1], np.zeros(lengths.size, dtype=np.intp), lengths
    first, inverse = _unique_rows(member)
    return member[first], inverse, lengths


def _unique_rows(member: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """First occurrence of every distinct row and each row's distinct-row index.

    Rows are bit-packed into 64-bit words; up to 64 masks that is one integer per row and a
    1-D unique, several times faster than ``np.unique(axis=0)``. Beyond 64 the words are mixed
    into one 64-bit hash per row for the same 1-D unique, checked exactly afterwards (a collision,
    never seen, falls back to ``np.unique(axis=0)``).
    """
    packed = np.packbits(member, axis=1)
    packed = np.pad(packed, ((0, 0), (0, -packed.shape[1] % 8)))
    words = np.ascontiguousarray(packed).view(np.uint64)
    if words.shape[1] == 1:
        _, first, inverse = np.unique(words[:, 0], return_index=True, return_inverse=True)
        return first, inverse.reshape(-1).astype(np.intp)
    _, first, inverse = np.unique(_row_hash(words), return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(words[first[inverse]], words):
        _, first, inverse = np.unique(words, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1).astype(np.intp)


_HASH_MULTIPLIERS = np.random.default_rng(0x5E31A7).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def _row_hash(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """One 64-bit hash per row of words (multiply-xorshift per word, odd multipliers, wrapping)."""
    n_words = words.shape[1]
    multipliers = _HASH_MULTIPLIERS[np.arange(n_words) % len(_HASH_MULTIPLIERS)]
    with np.errstate(over="ignore"):
        mixed = words * multipliers
        mixed ^= mixed >> np.uint64(29)
        mixed *= multipliers[::-1]
        return np.bitwise_xor.reduce(mixed ^ (mixed >> np.uint64(32)), axis=1)


def _region_vectors(
    global_feature: npt.NDArray[np.float64], region_features: npt.NDArray[np.float64], fusion: str, mask_weight: float
) -> npt.NDArray[np.float64]:
    """The per-region vectors that get summed over a pixel's covering masks."""
    if fusion != "conceptfusion":
        return mask_weight * region_features
    if region_features.shape[0] == 0:
        return region_features
    logits = region_features @ global_feature
    attention = np.exp(logits - logits.max())
    attention /= attention.sum()
    mixed = attention[:, None] * global_feature + (1.0 - attention[:, None]) * region_features
    return normalize(mixed, np.float64)


def _fusion_terms(
    patterns: npt.NDArray[np.bool_],
    global_feature: npt.NDArray[np.floating],
    region_features: npt.NDArray[np.floating],
    fusion: str,
    mask_weight: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(g, the summed region vectors, each pattern's weight of g): F_u = b_u g + M_u V before normalising."""
    g = np.asarray(global_feature, dtype=np.float64)
    vectors = _region_vectors(g, np.asarray(region_features, dtype=np.float64), fusion, mask_weight)
    empty = ~patterns.any(axis=1)
    base = np.ones(len(patterns)) if fusion == "sum" else empty.astype(np.float64)
    return g, vectors, base


def pattern_cosines(
    patterns: npt.NDArray[np.bool_],
    global_feature: npt.NDArray[np.floating],
    region_features: npt.NDArray[np.floating],
    queries: npt.NDArray[np.floating],
    fusion: str = "sum",
    mask_weight: float = MASK_WEIGHT,
) -> npt.NDArray[np.float64]:
    """Cosine of every pattern's fused feature with every query, (U, Q), via Gram matrices.

    With F_u = b_u g + M_u V: F_u·q = b_u g·q + M_u (V q) and
    ‖F_u‖² = b_u ‖g‖² + 2 b_u M_u (V g) + M_u (V Vᵀ) M_uᵀ.
    """
    g, vectors, base = _fusion_terms(patterns, global_feature, region_features, fusion, mask_weight)
    q = np.asarray(queries, dtype=np.float64)
    m = patterns.astype(np.float64)
    numerator = m @ (vectors @ q.T) + base[:, None] * (g @ q.T)
    norm2 = base * (g @ g) + 2.0 * base * (m @ (vectors @ g)) + np.einsum("uk,uk->u", m @ (vectors @ vectors.T), m)
    return numerator / np.maximum(np.sqrt(np.maximum(norm2, 0.0)), _EPS)[:, None]


def scores_from_cosines(
    cosines: npt.NDArray[np.float64], score: str, canonical_cosines: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """Turn (N, P) prompt cosines (and (N, C) canonical cosines) into (N, P) scores."""
    if score == "cosine":
        return cosines
    if score == "softmax":
        logits = 100.0 * cosines
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    # relevancy: pairwise softmax of temperature 10 against each canonical phrase, worst case
    assert canonical_cosines is not None
    gap = canonical_cosines[:, None, :] - cosines[:, :, None]  # (N, P, C)
    return (1.0 / (1.0 + np.exp(10.0 * gap))).min(axis=2)


def _check(
    rles: Sequence[RLE], shape: tuple[int, int] | None, fusion: str, score: str, n_canonical: int | None
) -> tuple[int, int]:
    if fusion not in FUSIONS:
        raise SemlatError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    if score not in SCORES:
        raise SemlatError(f"unknown score {score!r}; choose one of {', '.join(SCORES)}")
    if score == "relevancy" and not n_canonical:
        raise SemlatError("score 'relevancy' needs canonical phrase features (e.g. object, things, stuff, texture)")
    sizes = {tuple(int(s) for s in rle["size"]) for rle in rles}
    if shape is not None:
        sizes.add((int(shape[0]), int(shape[1])))
    if len(sizes) != 1:
        raise SemlatError("masks must all have the image's size; pass shape=(H, W) when there are no masks")
    return sizes.pop()  # type: ignore[return-value]


def score_maps(
    rles: Sequence[RLE],
    global_feature: npt.NDArray[np.float32],
    region_features: npt.NDArray[np.float32],
    text_features: npt.NDArray[np.float32],
    *,
    fusion: str = "sum",
    score: str = "softmax",
    canonical_features: npt.NDArray[np.float32] | None = None,
    mask_weight: float = MASK_WEIGHT,
    shape: tuple[int, int] | None = None,
) -> npt.NDArray[np.float32]:
    """(P, H, W) per-pixel scores of every prompt, without materialising per-pixel features.

    Args:
        rles: K COCO RLEs of one image, all of size (H, W).
        global_feature: (D,) L2-normalised whole-image feature.
        region_features: (K, D) L2-normalised region features, in ``rles`` order.
        text_features: (P, D) L2-normalised prompt features.
        fusion: "sum" (the original), "conceptfusion" or "region".
        score: "softmax" (the original), "relevancy" (LERF) or "cosine".
        canonical_features: (C, D) canonical phrase features, required for "relevancy".
        mask_weight: the weight of a region inside its mask (the original's 0.8).
        shape: (H, W); needed only when ``rles`` is empty.
    """
    if len(region_features) != len(rles):
        raise SemlatError(f"{len(rles)} masks but {len(region_features)} region features; they must pair up in order")
    n_canonical = None if canonical_features is None else len(canonical_features)
    height, width = _check(rles, shape, fusion, score, n_canonical)
    patterns, pattern_of_segment, lengths = segment_patterns(rles, (height, width))
    text = np.asarray(text_features, dtype=np.float64).reshape(-1, np.shape(global_feature)[-1])
    queries = text if score != "relevancy" else np.concatenate([text, np.asarray(canonical_features, np.float64)])
    with _single_threaded_blas():
        cosines = pattern_cosines(patterns, global_feature, region_features, queries, fusion, mask_weight)
    n_prompts = text.shape[0]
    per_pattern = scores_from_cosines(cosines[:, :n_prompts], score, cosines[:, n_prompts:])
    return paint(per_pattern.astype(np.float32), pattern_of_segment, lengths, (height, width))


def paint(
    per_pattern: npt.NDArray[np.float32],
    pattern_of_segment: npt.NDArray[np.intp],
    lengths: npt.NDArray[np.int64],
    shape: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """Expand (U, P) pattern scores to a row-major (P, H, W) map.

    Transposing P float maps is slow, so only the small pattern-index image is transposed to
    row-major; its runs are found again and the maps are written in order with one repeat.
    """
    height, width = shape
    index = pattern_index(pattern_of_segment, lengths, shape, len(per_pattern)).ravel()
    starts = np.flatnonzero(np.concatenate(([True], index[1:] != index[:-1])))
    run_lengths = np.diff(starts, append=index.size)
    per_run = np.ascontiguousarray(per_pattern.T)[:, index[starts]]  # (P, runs)
    return np.repeat(per_run, run_lengths, axis=1).reshape(-1, height, width)


def pattern_index(
    pattern_of_segment: npt.NDArray[np.intp], lengths: npt.NDArray[np.int64], shape: tuple[int, int], n_patterns: int
) -> npt.NDArray[np.integer]:
    """The row-major (H, W) image of every pixel's pattern index (int16 when the patterns allow)."""
    height, width = shape
    small = np.int16 if n_patterns <= np.iinfo(np.int16).max else np.int32
    return np.repeat(pattern_of_segment.astype(small), lengths).reshape(width, height).T


def nearest_sample(image: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """``image`` (H, W) resampled to ``size`` (h, w) by the nearest pixel centre (as OpenCV's INTER_NEAREST_EXACT)."""
    height, width = image.shape[:2]
    out_h, out_w = size
    if (out_h, out_w) == (height, width):
        return image
    rows = np.minimum(((np.arange(out_h) + 0.5) * height / out_h).astype(np.intp), height - 1)
    cols = np.minimum(((np.arange(out_w) + 0.5) * width / out_w).astype(np.intp), width - 1)
    return image[rows[:, None], cols[None, :]]


def pattern_features(
    patterns: npt.NDArray[np.bool_],
    global_feature: npt.NDArray[np.floating],
    region_features: npt.NDArray[np.floating],
    fusion: str = "sum",
    mask_weight: float = MASK_WEIGHT,
) -> npt.NDArray[np.float32]:
    """(U, D) L2-normalised fused feature of every membership pattern (the per-pixel feature, once per pattern).

    Painting them through the pattern-index image gives the per-pixel features without a K×H×W
    weight tensor; the scores of `score_maps` are these features' cosines with the prompts.
    """
    if fusion not in FUSIONS:
        raise SemlatError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    g, vectors, base = _fusion_terms(patterns, global_feature, region_features, fusion, mask_weight)
    with _single_threaded_blas():
        fused = patterns.astype(np.float64) @ vectors + base[:, None] * g
    return normalize(fused, np.float32)


def argmax_segmentation(maps: npt.NDArray[np.floating]) -> npt.NDArray[np.intp]:
    """(H, W) index of the best-scoring prompt at every pixel of (P, H, W) maps."""
    return np.argmax(maps, axis=0)
