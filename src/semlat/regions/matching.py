"""Feature matches between views when a scene has no SfM model: OpenCV SIFT, ratio test, RANSAC.

Each image's SIFT keypoints are found once (descriptors kept as uint8, 128 bytes a keypoint);
each chosen image pair is matched with a brute-force k=2 search, Lowe's ratio test, and a RANSAC
fundamental matrix whose inliers are kept. The inlier matches of all pairs are joined into tracks
as SfM joins them (connected keypoints; a track holding two keypoints of one image is dropped as
inconsistent), so the association counts matches exactly as it counts SfM tracks. Keypoints are
returned in COLMAP's pixel convention (the top-left pixel's centre is (0.5, 0.5)), like tracks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Keypoints:
    """One image's SIFT keypoints: (K, 2) float32 positions and (K, 128) uint8 descriptors."""

    xy: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8]


def sift(image: npt.NDArray[np.uint8], max_features: int) -> Keypoints:
    """SIFT keypoints of an (H, W, 3) RGB image, strongest first."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    found, descriptors = cv2.SIFT_create(nfeatures=max_features, contrastThreshold=0.01).detectAndCompute(gray, None)
    if descriptors is None or not found:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8))
    xy = np.array([k.pt for k in found], np.float32) + 0.5  # OpenCV's pixel centres are integers
    return Keypoints(xy, np.clip(np.round(descriptors), 0, 255).astype(np.uint8))


def match(first: Keypoints, second: Keypoints, ratio: float, ransac_threshold: float, min_inliers: int) -> npt.NDArray[np.int64]:
    """(M, 2) indices of inlier matches (into ``first``, ``second``); empty when too few survive."""
    import cv2

    none = np.zeros((0, 2), np.int64)
    if len(first.xy) < 8 or len(second.xy) < 8:
        return none
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(first.descriptors.astype(np.float32), second.descriptors.astype(np.float32), k=2)
    good = np.array([[m[0].queryIdx, m[0].trainIdx] for m in knn if len(m) == 2 and m[0].distance < ratio * m[1].distance])
    if len(good) < max(8, min_inliers):
        return none
    _, inliers = cv2.findFundamentalMat(first.xy[good[:, 0]], second.xy[good[:, 1]], cv2.FM_RANSAC, ransac_threshold, 0.999)
    if inliers is None:
        return none
    kept = good[inliers.ravel().astype(bool)]
    return kept.astype(np.int64) if len(kept) >= min_inliers else none


def match_tracks(
    keypoints: Callable[[int], Keypoints],
    pairs: Iterable[tuple[int, int]],
    ratio: float,
    ransac_threshold: float,
    min_inliers: int,
) -> dict[int, tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
    """Tracks of the inlier matches of every pair: image -> (xy (K, 2), track id (K,)).

    Args:
        keypoints: image index -> its keypoints (called again for each pair; cache it).
        pairs: image pairs to match.
        ratio, ransac_threshold, min_inliers: see `match`.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    node: dict[tuple[int, int], int] = {}  # (image, keypoint) -> node
    xy: list[npt.NDArray[np.float32]] = []
    edges: list[npt.NDArray[np.int64]] = []
    for i, j in pairs:
        first, second = keypoints(i), keypoints(j)
        found = match(first, second, ratio, ransac_threshold, min_inliers)
        ends = []
        for image, keys, side in ((i, first, 0), (j, second, 1)):
            ids = []
            for k in found[:, side].tolist():
                if (image, k) not in node:
                    node[(image, k)] = len(node)
                    xy.append(keys.xy[k])
                ids.append(node[(image, k)])
            ends.append(np.asarray(ids, np.int64))
        edges.append(np.stack(ends, axis=1).reshape(-1, 2))
    if not node:
        return {}
    pairs_ = np.concatenate(edges)
    n = len(node)
    graph = coo_matrix((np.ones(len(pairs_)), (pairs_[:, 0], pairs_[:, 1])), shape=(n, n))
    _, track = connected_components(graph, directed=False)
    image = np.array([image for image, _ in node], np.int64)
    per_image = np.unique(np.stack([track, image], axis=1), axis=0)
    consistent = np.bincount(per_image[:, 0], minlength=track.max() + 1) == np.bincount(track)
    points = np.stack(xy).astype(np.float32)
    keep = consistent[track]
    return {int(i): (points[keep & (image == i)], track[keep & (image == i)].astype(np.int64)) for i in np.unique(image[keep])}
