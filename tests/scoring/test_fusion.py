"""The run-length fast path must equal the dense per-pixel definitions exactly."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from semlat.errors import SemlatError
from semlat.rle import encode
from semlat.scoring.fusion import (
    FUSIONS,
    SCORES,
    argmax_segmentation,
    nearest_sample,
    pattern_features,
    pattern_index,
    score_maps,
    segment_patterns,
)

D = 16


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def dense_reference(masks, g, regions, texts, fusion, score, canonical=None, mask_weight=0.8):
    """Straight from the definitions, materialising (H, W, D) in float64."""
    masks = np.asarray(masks, dtype=np.float64).reshape(-1, *masks.shape[-2:])  # (K, H, W)
    g, regions, texts = (np.asarray(a, np.float64) for a in (g, regions, texts))
    covered = masks.sum(axis=0) > 0
    if fusion == "sum":
        fused = g + np.einsum("khw,kd->hwd", mask_weight * masks, regions)
    elif fusion == "region":
        fused = np.einsum("khw,kd->hwd", mask_weight * masks, regions)
        fused[~covered] = g
    else:
        sims = regions @ g
        a = np.exp(sims) / np.exp(sims).sum()
        mixed = _unit(a[:, None] * g + (1 - a[:, None]) * regions)
        fused = np.einsum("khw,kd->hwd", masks, mixed)
        fused[~covered] = g
    fused = fused / np.maximum(np.linalg.norm(fused, axis=-1, keepdims=True), 1e-12)
    cos = np.einsum("hwd,pd->phw", fused, texts)
    if score == "cosine":
        return cos
    if score == "softmax":
        e = np.exp(100 * cos - (100 * cos).max(axis=0))
        return e / e.sum(axis=0)
    canon = np.einsum("hwd,cd->chw", fused, np.asarray(canonical, np.float64))
    pairwise = 1.0 / (1.0 + np.exp(10 * (canon[None] - cos[:, None])))  # (P, C, H, W)
    return pairwise.min(axis=1)


def random_masks(rng: np.random.Generator, h: int, w: int) -> npt.NDArray[np.bool_]:
    """Varied masks: rectangles touching borders, ellipses, overlapping copies, speckle, extremes."""
    yy, xx = np.mgrid[:h, :w]
    masks = []
    for _ in range(rng.integers(2, 6)):  # rectangles, often clamped to a border
        y0, y1 = np.sort(rng.integers(-2, h + 3, 2))
        x0, x1 = np.sort(rng.integers(-2, w + 3, 2))
        masks.append((yy >= y0) & (yy <= y1) & (xx >= x0) & (xx <= x1))
    for _ in range(rng.integers(1, 4)):  # ellipses, each with a slightly shifted near-copy
        cy, cx, ry, rx = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.5, h), rng.uniform(0.5, w)
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        masks += [blob, np.roll(blob, 1, axis=int(rng.integers(2)))]
    masks.append(rng.random((h, w)) < 0.3)  # speckle: many short runs
    masks.append(np.ones((h, w), bool))  # full image
    single = np.zeros((h, w), bool)
    single[rng.integers(h), rng.integers(w)] = True
    masks.append(single)
    masks.append(np.zeros((h, w), bool))  # empty
    masks = [masks[i] for i in rng.permutation(len(masks))]
    return np.stack(masks)


def random_case(seed: int, h: int, w: int, k: int | None = None, n_prompts: int = 4):
    rng = np.random.default_rng(seed)
    masks = random_masks(rng, h, w)
    if k is not None:
        masks = masks[:k]
    g = _unit(rng.normal(size=D))
    regions = _unit(rng.normal(size=(len(masks), D)))
    texts = _unit(rng.normal(size=(n_prompts, D)))
    canonical = _unit(rng.normal(size=(3, D)))
    return masks, g, regions, texts, canonical


SHAPES = [(12, 17), (16, 16), (23, 5), (1, 9), (9, 1), (1, 1)]


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_path_matches_dense_reference(fusion, score, shape, seed):
    masks, g, regions, texts, canonical = random_case(seed, *shape)
    rles = [encode(m) for m in masks]
    fast = score_maps(
        rles,
        g.astype(np.float32),
        regions.astype(np.float32),
        texts.astype(np.float32),
        fusion=fusion,
        score=score,
        canonical_features=canonical.astype(np.float32),
    )
    # The reference sees the same float32-rounded inputs as the fast path.
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    expected = dense_reference(masks, f32(g), f32(regions), f32(texts), fusion, score, f32(canonical))
    assert fast.shape == (len(texts), *shape)
    assert fast.dtype == np.float32 and fast.flags.c_contiguous
    np.testing.assert_allclose(fast, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("score", SCORES)
def test_no_masks_every_pixel_is_the_global_feature(fusion, score):
    _, g, _, texts, canonical = random_case(3, 7, 5)
    fast = score_maps([], g, np.zeros((0, D)), texts, fusion=fusion, score=score, canonical_features=canonical, shape=(7, 5))
    expected = dense_reference(np.zeros((0, 7, 5), bool), g, np.zeros((0, D)), texts, fusion, score, canonical)
    assert fast.shape == (len(texts), 7, 5)
    np.testing.assert_allclose(fast, expected, atol=1e-5, rtol=0)
    assert np.ptp(fast, axis=(1, 2)).max() == 0


@pytest.mark.parametrize("fusion", FUSIONS)
def test_more_than_64_masks(fusion):
    """Membership rows span several 64-bit words."""
    rng = np.random.default_rng(7)
    masks = rng.random((70, 9, 11)) < 0.4
    g, regions, texts = _unit(rng.normal(size=D)), _unit(rng.normal(size=(70, D))), _unit(rng.normal(size=(3, D)))
    fast = score_maps([encode(m) for m in masks], g, regions, texts, fusion=fusion, score="cosine")
    np.testing.assert_allclose(fast, dense_reference(masks, g, regions, texts, fusion, "cosine"), atol=1e-5, rtol=0)


@pytest.mark.parametrize("mask_weight", [0.3, 1.0, 2.5])
def test_mask_weight(mask_weight):
    masks, g, regions, texts, _ = random_case(4, 10, 13)
    fast = score_maps([encode(m) for m in masks], g, regions, texts, score="cosine", mask_weight=mask_weight)
    expected = dense_reference(masks, g, regions, texts, "sum", "cosine", mask_weight=mask_weight)
    np.testing.assert_allclose(fast, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("score", ["softmax", "cosine"])
def test_region_matching_a_prompt_wins_over_its_mask(fusion, score):
    h, w = 12, 20
    basis = np.eye(D, dtype=np.float32)
    masks = np.zeros((3, h, w), bool)
    masks[0, :6, :10] = True
    masks[1, 6:, :10] = True
    masks[2, :, 10:] = True
    g, regions, texts = basis[0], basis[1:4], basis[[2, 1, 3]]  # prompt j matches region order [1, 0, 2]
    maps = score_maps([encode(m) for m in masks], g, regions, texts, fusion=fusion, score=score)
    winner = argmax_segmentation(maps)
    expected = np.select([masks[1], masks[0], masks[2]], [0, 1, 2])
    np.testing.assert_array_equal(winner, expected)


def test_segments_cover_the_image_once():
    masks, *_ = random_case(5, 14, 9)
    patterns, pattern_of_segment, lengths = segment_patterns([encode(m) for m in masks], (14, 9))
    assert lengths.sum() == 14 * 9 and (lengths > 0).all()
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    # Painting each segment's membership reproduces every mask.
    painted = np.repeat(patterns[pattern_of_segment], lengths, axis=0)  # (H*W column-major, K)
    np.testing.assert_array_equal(painted.T.reshape(len(masks), 9, 14).transpose(0, 2, 1), masks)


def test_bad_arguments_are_explained():
    masks, g, regions, texts, _ = random_case(6, 5, 5)
    rles = [encode(m) for m in masks]
    with pytest.raises(SemlatError, match="fusion"):
        score_maps(rles, g, regions, texts, fusion="mean")
    with pytest.raises(SemlatError, match="score"):
        score_maps(rles, g, regions, texts, score="max")
    with pytest.raises(SemlatError, match="canonical"):
        score_maps(rles, g, regions, texts, score="relevancy")
    with pytest.raises(SemlatError, match="shape"):
        score_maps([], g, regions[:0], texts)
    with pytest.raises(SemlatError, match="size"):
        score_maps(rles + [encode(np.ones((4, 5), bool))], g, np.vstack([regions, g]), texts)
    with pytest.raises(SemlatError, match="pair up"):
        score_maps(rles, g, regions[1:], texts)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_pattern_features_painted_are_the_dense_fused_features(fusion, shape):
    masks, g, regions, _, _ = random_case(5, *shape)
    patterns, of_segment, lengths = segment_patterns([encode(m) for m in masks], shape)
    features = pattern_features(patterns, g, regions, fusion)
    index = pattern_index(of_segment, lengths, shape, len(patterns))
    assert index.shape == shape and features.dtype == np.float32
    expected = dense_reference(masks, g, regions, np.eye(D), fusion, "cosine")  # cosines with a basis: the features
    np.testing.assert_allclose(np.moveaxis(features[index], -1, 0), expected, atol=1e-5, rtol=0)


def test_nearest_sample_takes_the_pixel_under_each_centre():
    image = np.arange(6 * 8).reshape(6, 8)
    assert nearest_sample(image, (6, 8)) is image
    assert nearest_sample(image, (3, 4)).tolist() == image[1::2, 1::2].tolist()
    up = nearest_sample(image, (12, 16))
    assert up.tolist() == np.repeat(np.repeat(image, 2, axis=0), 2, axis=1).tolist()
    assert nearest_sample(image, (1, 1)).tolist() == [[image[3, 4]]]


def test_a_hash_collision_falls_back_to_the_exact_unique(monkeypatch):
    """Beyond 64 masks rows are deduplicated by a hash, checked exactly: a collision must not merge patterns."""
    from semlat.scoring import fusion

    rng = np.random.default_rng(8)
    masks = rng.random((70, 9, 11)) < 0.4
    g, regions, texts = _unit(rng.normal(size=D)), _unit(rng.normal(size=(70, D))), _unit(rng.normal(size=(3, D)))
    monkeypatch.setattr(fusion, "_row_hash", lambda words: np.zeros(len(words), np.uint64))  # every row collides
    fast = score_maps([encode(m) for m in masks], g, regions, texts, score="cosine")
    np.testing.assert_allclose(fast, dense_reference(masks, g, regions, texts, "sum", "cosine"), atol=1e-5, rtol=0)
