"""Cross-view instances: constrained graph clustering of the regions of all views.

Regions are nodes; links between regions of different images come from shared 3D points (SfM
tracks, or feature matches used as two-view tracks) and from appearance (region descriptors).
Clustering is greedy: union-find over the links, strongest first, refusing every merge that
would put two regions of one image in one instance (cannot-link). Nothing fixes the number of
instances: it is what is left when no link passes its threshold; a region with no link keeps an
instance of its own.

Point links (`point_links`): a 3D point whose observations fall inside region A of one image and
region B of another votes A~B. The strength of A~B is the share of the points that could have
voted that did: ``votes / max(cover(A, image of B), cover(B, image of A))``, where
``cover(A, j)`` counts the points seen in A that image j observes too, inside a region or not
(an incidence row with region `NOWHERE` records that image j observes a point). Occlusion does
not weaken a true link (a point hidden in image j is not observed there), while a few wrong
observations or points on a boundary give weak links that the thresholds drop; and a region
does not link strongly to the one region of image j that happens to hold a few of its points
where j has no region over the rest.

Memory grows with observations, regions and links: the pairs of observations of one point are
formed in bounded chunks and reduced to per-link counts at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CHUNK_PAIRS = 4_000_000
"""Most observation pairs formed at once while counting votes."""

NOWHERE = -1
"""Region of an incidence row that only records that its image observes its point."""


@dataclass(frozen=True)
class AssociationSettings:
    """Thresholds of the association (the single source of their defaults).

    Args:
        min_votes: fewest shared points (or matches) for a point link.
        min_strength: weakest point link kept (share of the points that could vote, see the module docstring).
        appearance_threshold: lowest descriptor cosine of an appearance link (CLIP descriptors).
        sam_appearance_threshold: the same for SAM descriptors (mean image latents are more alike).
        pairs_per_view: image pairs per view for feature matches and appearance links.
        max_features: SIFT keypoints per image.
        ratio: Lowe's ratio test of SIFT matches.
        ransac_threshold: RANSAC's reprojection threshold for the fundamental matrix, in pixels.
        min_inliers: fewest RANSAC inliers for an image pair's matches to count.
    """

    min_votes: int = 2
    min_strength: float = 0.3
    appearance_threshold: float = 0.95
    sam_appearance_threshold: float = 0.9
    pairs_per_view: int = 8
    max_features: int = 4000
    ratio: float = 0.85
    ransac_threshold: float = 3.0
    min_inliers: int = 10


@dataclass(frozen=True)
class Links:
    """Undirected links between regions (global indices, ``a < b``) and their strengths in [0, 1]."""

    a: IntArray
    b: IntArray
    strength: FloatArray

    @classmethod
    def empty(cls) -> Links:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def __len__(self) -> int:
        return len(self.a)


@dataclass(frozen=True)
class Incidences:
    """Which regions hold which observations: one row per (point, region holding the point's pixel),
    and one row per observation with region `NOWHERE` (its image observes the point).

    Args:
        point: 3D point (or match) id per row.
        region: global region index per row (`NOWHERE`: none).
        image: image index of the observation per row.
    """

    point: IntArray
    region: IntArray
    image: IntArray

    @classmethod
    def concat(cls, parts: Iterable[Incidences]) -> Incidences:
        parts = list(parts)
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty, empty)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]).astype(np.int64) for f in ("point", "region", "image")))

    def select(self, keep: npt.NDArray[np.bool_]) -> Incidences:
        return Incidences(self.point[keep], self.region[keep], self.image[keep])


def incidences(
    masks: Iterable[npt.NDArray[np.bool_]],
    region_index: Sequence[int],
    image_index: int,
    xy: npt.NDArray[np.floating],
    point_id: npt.NDArray[np.integer],
) -> Incidences:
    """The regions of one image holding each observation, and a `NOWHERE` row for each observation in the image.

    Args:
        masks: the image's region masks (H, W), read once in order (a generator keeps one in memory).
        region_index: global index of each mask.
        image_index: the image's index.
        xy: (K, 2) observation pixels, COLMAP's convention (the top-left pixel's centre is (0.5, 0.5)).
        point_id: (K,) the observations' 3D point ids.
    """
    held, rows, cols, points = [], None, None, np.zeros(0, np.int64)
    for mask in masks:
        if rows is None:
            height, width = mask.shape
            cols = np.floor(np.asarray(xy[:, 0], np.float64)).astype(np.int64)
            rows = np.floor(np.asarray(xy[:, 1], np.float64)).astype(np.int64)
            inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
            cols, rows, points = cols[inside], rows[inside], np.asarray(point_id, np.int64)[inside]
        held.append(mask[rows, cols])  # region r holds observation k
    if not held or not len(points):
        return Incidences.concat([])
    r, k = np.nonzero(np.stack(held))
    point = np.r_[points[k], points]
    region = np.r_[np.asarray(region_index, np.int64)[r], np.full(len(points), NOWHERE, np.int64)]
    return Incidences(point, region, np.full(len(point), image_index, np.int64))


def point_links(found: Incidences, settings: AssociationSettings) -> Links:
    """Links from points seen inside regions of different images (see the module docstring).

    ``found`` without `NOWHERE` rows counts a point as observed by an image only where one of its
    regions holds it.
    """
    held = found.select(found.region != NOWHERE)
    if not len(held.point):
        return Links.empty()
    code = np.unique(held.point * (held.region.max() + 1) + held.region)  # one row per (point, region)
    n_regions = int(held.region.max()) + 1
    image_of = np.zeros(n_regions, np.int64)
    image_of[held.region] = held.image
    rows = Incidences(code // n_regions, code % n_regions, image_of[code % n_regions])
    n_images = int(found.image.max()) + 1
    seen = np.unique(found.point * n_images + found.image)  # one row per (point, image observing it)
    views = (seen // n_images, seen % n_images)

    votes = _count(_pairs_by_point(rows.point, rows.point), rows, (rows.region, rows.image), "vote", n_regions)
    cover = _count(_pairs_by_point(rows.point, views[0]), rows, views, "cover", n_images)
    if not len(votes[0]):
        return Links.empty()
    pair, count = votes
    a, b = pair // n_regions, pair % n_regions
    cover_codes, cover_counts = cover
    need_a = _lookup(cover_codes, cover_counts, a * n_images + image_of[b])
    need_b = _lookup(cover_codes, cover_counts, b * n_images + image_of[a])
    strength = count / np.maximum(np.maximum(need_a, need_b), 1)
    keep = (count >= settings.min_votes) & (strength >= settings.min_strength)
    return Links(a[keep], b[keep], np.minimum(strength[keep], 1.0))


def _pairs_by_point(left: IntArray, right: IntArray) -> Iterable[tuple[IntArray, IntArray]]:
    """Index pairs (i, j) with ``left[i] == right[j]``, ``right`` sorted, in chunks of bounded size."""
    order = np.argsort(right, kind="stable")
    sorted_right = right[order]
    lo = np.searchsorted(sorted_right, left, "left")
    counts = np.searchsorted(sorted_right, left, "right") - lo
    ends = np.cumsum(counts)
    start = 0
    while start < len(left):
        stop = int(np.searchsorted(ends, ends[start] - counts[start] + CHUNK_PAIRS, "right"))
        stop = max(stop, start + 1)
        chunk_counts = counts[start:stop]
        total = int(chunk_counts.sum())
        i = np.repeat(np.arange(start, stop), chunk_counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(chunk_counts) - chunk_counts, chunk_counts)
        j = order[np.repeat(lo[start:stop], chunk_counts) + offsets]
        yield i, j
        start = stop


def _count(
    pairs: Iterable[tuple[IntArray, IntArray]],
    rows: Incidences,
    right: tuple[IntArray, IntArray],
    kind: str,
    width: int,
) -> tuple[IntArray, IntArray]:
    """Count region pairs ("vote": a < b, different images) or (region, other image) pairs ("cover")."""
    codes, counts = [], []
    for i, j in pairs:
        other = right[1][j]
        keep = rows.image[i] != other
        if kind == "vote":
            keep &= rows.region[i] < right[0][j]
            code = rows.region[i][keep] * width + right[0][j][keep]
        else:
            code = rows.region[i][keep] * width + other[keep]
        unique, count = np.unique(code, return_counts=True)
        codes.append(unique)
        counts.append(count)
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    code, count = np.concatenate(codes), np.concatenate(counts)
    unique, inverse = np.unique(code, return_inverse=True)
    return unique, np.bincount(inverse, weights=count).astype(np.int64)


def _lookup(codes: IntArray, counts: IntArray, wanted: IntArray) -> IntArray:
    at = np.clip(np.searchsorted(codes, wanted), 0, max(len(codes) - 1, 0))
    return np.where(codes[at] == wanted, counts[at], 0) if len(codes) else np.zeros(len(wanted), np.int64)


def appearance_links(
    descriptors: npt.NDArray[np.floating],
    image_of: IntArray,
    image_pairs: Iterable[tuple[int, int]],
    threshold: float,
) -> Links:
    """Mutual nearest neighbours by descriptor cosine between the regions of each image pair.

    Args:
        descriptors: (N, D) L2-normalised region descriptors (global region order).
        image_of: (N,) image index of each region.
        image_pairs: the image pairs to compare.
        threshold: lowest cosine of a link; the strength is the cosine.
    """
    order = np.argsort(image_of, kind="stable")
    bounds = np.searchsorted(image_of[order], np.arange(int(image_of.max(initial=-1)) + 2))
    members = {i: order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)}
    a_parts, b_parts, s_parts = [], [], []
    for i, j in image_pairs:
        left, right = members.get(i, order[:0]), members.get(j, order[:0])
        if not len(left) or not len(right):
            continue
        cosine = np.asarray(descriptors[left], np.float32) @ np.asarray(descriptors[right], np.float32).T
        best_right, best_left = cosine.argmax(1), cosine.argmax(0)
        mutual = best_left[best_right] == np.arange(len(left))
        rows = np.flatnonzero(mutual & (cosine[np.arange(len(left)), best_right] >= threshold))
        a, b = left[rows], right[best_right[rows]]
        a_parts.append(np.minimum(a, b))
        b_parts.append(np.maximum(a, b))
        s_parts.append(cosine[rows, best_right[rows]].astype(np.float64))
    if not a_parts:
        return Links.empty()
    return Links(np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(s_parts))


def image_pairs(n_images: int, per_view: int, similarity: npt.NDArray[np.floating] | None = None) -> list[tuple[int, int]]:
    """Image pairs (i < j) to compare, at most ``per_view`` chosen by each view.

    With a (n, n) global ``similarity`` (e.g. of whole-image CLIP embeddings) each view takes its
    most similar others; without one, its neighbours in file order (half before, half after).
    """
    pairs: set[tuple[int, int]] = set()
    per_view = max(0, min(per_view, n_images - 1))
    for i in range(n_images):
        if similarity is not None:
            row = np.asarray(similarity[i], np.float64).copy()
            row[i] = -np.inf
            partners = np.argsort(-row, kind="stable")[:per_view]
        else:
            before = per_view // 2
            start = max(0, min(i - before, n_images - 1 - per_view))
            partners = [j for j in range(start, start + per_view + 1) if j != i][:per_view]
        pairs.update((min(i, int(j)), max(i, int(j))) for j in partners)
    return sorted(pairs)


def cluster(n_regions: int, groups: npt.NDArray[np.integer], tiers: Sequence[Links]) -> IntArray:
    """Instances (0..K-1, in order of first region) of ``n_regions`` regions.

    Args:
        n_regions: number of regions.
        groups: (n,) cannot-link group of each region (its image): two regions of a group never
            share an instance.
        tiers: links by decreasing trust (e.g. tracks, then appearance); each tier's links are
            merged strongest first, after every link of the tiers before.
    """
    parent = list(range(n_regions))
    members: list[set[int] | None] = [{int(g)} for g in groups]

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for links in tiers:
        order = np.argsort(-links.strength, kind="stable")
        for a, b in zip(links.a[order].tolist(), links.b[order].tolist()):
            ra, rb = root(a), root(b)
            if ra == rb:
                continue
            small, big = (ra, rb) if len(members[ra]) < len(members[rb]) else (rb, ra)
            if not members[small].isdisjoint(members[big]):
                continue  # cannot-link: the two would share an image
            members[big] |= members[small]
            members[small] = None
            parent[small] = big
    roots = np.array([root(i) for i in range(n_regions)], np.int64).reshape(-1)
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]
