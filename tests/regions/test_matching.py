"""SIFT matches: a shifted textured image matches itself, RANSAC inliers only; matches join into tracks."""

from __future__ import annotations

import numpy as np
import pytest

from semlat.regions import matching


def textured(seed: int = 0, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    noise = gaussian_filter(rng.uniform(0, 255, size), 1.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min()) * 255
    return np.repeat(noise[..., None], 3, axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def views():
    big = textured(size=(96, 160))
    return big[:, :128], big[:, 16:144]  # the second sees the scene 16 pixels to the right


def test_keypoints_are_in_colmap_pixels_and_matches_follow_the_shift(views):
    first, second = (matching.sift(v, 500) for v in views)
    assert len(first.xy) > 30 and first.descriptors.dtype == np.uint8 and first.descriptors.shape[1] == 128
    found = matching.match(first, second, ratio=0.8, ransac_threshold=1.0, min_inliers=10)
    assert len(found) > 20
    shift = first.xy[found[:, 0]] - second.xy[found[:, 1]]
    np.testing.assert_allclose(np.median(shift, axis=0), [16, 0], atol=0.3)
    assert np.mean(np.abs(shift - [16, 0]).max(axis=1) < 2) > 0.95


def test_unrelated_or_featureless_images_give_no_matches(views):
    first = matching.sift(views[0], 500)
    flat = matching.sift(np.full((64, 64, 3), 128, np.uint8), 500)
    assert len(flat.xy) == 0
    assert len(matching.match(first, flat, 0.8, 1.0, 10)) == 0
    other = matching.sift(textured(seed=5), 500)
    assert len(matching.match(first, other, 0.8, 1.0, 10)) == 0  # ratio test and RANSAC leave too few


def test_matches_of_several_pairs_join_into_tracks(views):
    big = textured(size=(96, 176))
    images = [big[:, :128], big[:, 16:144], big[:, 32:160]]
    found = [matching.sift(v, 500) for v in images]
    tracks = matching.match_tracks(found.__getitem__, [(0, 1), (1, 2)], 0.8, 1.0, 10)
    assert set(tracks) == {0, 1, 2}
    shared = set(tracks[0][1].tolist()) & set(tracks[2][1].tolist())
    assert len(shared) > 5  # tracks through the middle view link the first and the last
    for xy, ids in tracks.values():
        assert len(xy) == len(ids) == len(set(ids.tolist()))  # one keypoint of an image per track
