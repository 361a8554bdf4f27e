"""Collection-wide retrieval: a text, an example region or a vector against every region of every image.

How a search runs:

1. The query becomes one L2-normalised vector: a text through the CLIP text tower that made the
   features, an example region's own stored feature (``like=(image, region_id)``), or a vector.
2. LanceDB returns the nearest rows by cosine that belong to the feature key (region set, model,
   feature set), are real regions (``region_id >= 0``; the whole-image rows take part only with
   ``whole_images=True``) and pass the image, label, level and area filters. Below the index
   threshold: exact flat search with the key and images as a LanceDB prefilter. Above it, the
   ANN index, with the feature key as its only prefilter (answered by bitmap indexes; none when
   the table holds one key) and the rest checked here on its nearest rows; see `_candidates`
   for how a filter chooses between filtering the index's nearest rows (re-ranked on their
   stored vectors) and an exact search narrowed by the scalar indexes (image and region ids).
3. Label, level and minimum-area filters live in the regions table; its small columns are read
   once per Workspace (`_RegionColumns`) and give the exact set of (image, region) pairs that
   pass, and how many: the fraction of the table a filter lets through picks the way.
   With exact search the result is therefore the exact filtered top-k; through the index it is
   the exact filtered top-k of the candidates, and a filter too selective for the index is
   searched exactly.
4. Scores: ``cosine`` is f·t; ``relevancy`` is LERF's min over the canonical phrases of
   1 / (1 + exp(10 (f·φ_c − f·t))), the same function as `semlat query` uses. Relevancy is not
   a function of the cosine alone (each region's canonical cosines differ), so the ranking is
   made by rescoring a pool of the best ``max(RELEVANCY_POOL, 10·top)`` cosine candidates:
   a region outside that pool cannot appear, even if its relevancy is higher.
5. ``by="image"`` ranks images by their best region; each image's hit is that region.

Cosine scores are LanceDB's exact float32 distances (1 − distance), or for a filtered index
search the stored float32 vectors' cosines computed here in float64, so they equal `query`'s up to
float32 rounding; relevancy is computed in float64 from the candidates' stored vectors.

Per search, LanceDB is asked once or twice (the nearest rows' ids and distances; a filtered index
search then reads its survivors' vectors by row id, and once the table's row ids are read behind
its first search, `_RowPairs`, it asks for row ids alone and names the regions itself); what a
search needs besides (images, the region set's labels, boxes and areas, whether there is an
index) is read once per `Workspace` and kept (`Workspace.memo`), so keep a Workspace open to
search often. A newly opened Workspace's first plain search does not wait for that: it looks up
its hits' regions and images by id (scalar indexes) and the rest is read on a background thread
(`Workspace.prefetch`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from semlat.errors import SemlatError
from semlat.scoring.fusion import scores_from_cosines
from semlat.scoring.prompts import CANONICAL_PHRASES
from semlat.types import NO_LABEL, WHOLE_IMAGE, FeatureKey
from semlat.vectors import normalize
from semlat.workspace import (
    IndexSettings,
    Workspace,
    embedding_rows,
    feature_filter,
    nearest_rows,
    row_pairs,
    rows_by_id,
    rows_filter,
    search_plan,
)

if TYPE_CHECKING:
    from semlat.encoders import Encoder, ModelSpec

T = TypeVar("T")

BY = ("region", "image")
SEARCH_SCORES = ("cosine", "relevancy")
RELEVANCY_POOL = 200
"""Cosine candidates rescored with relevancy (at least; 10 × top when that is more)."""
_FIRST_FETCH = 4
"""Candidates asked for at first, as a multiple of what is needed."""
MAX_PREFILTER_IMAGES = 2000
"""Longer image-id lists are not put in the LanceDB filter (they are checked on the results)."""
MAX_PREFILTER_REGIONS = 256
"""Longer region-id lists are not put in the LanceDB filter (they are checked on the results)."""
POSTFILTER_ROWS = 16384
"""Index searches filter this many nearest rows themselves at most, then search exactly."""
KEPT_FILTERS = 8
"""Filters whose images and allowed regions a Workspace keeps (the most recent ones)."""
NARROWED_KEPT_BYTES = 16 << 20
"""A filter too selective for the index is searched exactly over the rows the scalar indexes narrow it to; when
their vectors take at most this much (about 8,000 rows of 512-d float32), they are kept, with the filter, for its next
searches (`KEPT_FILTERS` filters at most, so at most 128 MiB)."""
MIN_REFINE = 2
"""A filtered index search re-ranks ``wanted + (r − 1) · top`` surviving rows on their stored vectors, r the index's
``refine_factor`` (at least this): the same depth of exact re-ranking as an unfiltered search."""


@dataclass(frozen=True)
class SearchHit:
    """One ranked result: a region of an image (region_id −1: the whole image)."""

    image: str
    image_id: int
    region_id: int
    label: int
    score: float
    bbox: tuple[float, float, float, float]
    area: int
    level: int = 0
    """SAM's level of the region (0 whole, 1 part, 2 sub-part; 0 for the whole image)."""


def parse_like(text: str) -> tuple[str, int]:
    """``"IMAGE:REGION"`` → (image name, region id); the image name may itself contain colons."""
    image, sep, region = text.rpartition(":")
    try:
        region_id = int(region)
    except ValueError:
        region_id = None
    if not sep or not image or region_id is None:
        raise SemlatError(f"--like {text!r} is not IMAGE:REGION: pass e.g. view_00.png:3 (`semlat info` lists images)")
    return image, region_id


def _query_vector(
    ws: Workspace, key: FeatureKey, query: str | None, like: tuple[str, int] | None, vector: npt.ArrayLike | None
) -> npt.NDArray[np.float64] | None:
    """The query's stored or given vector; None for a text query (encoded later with the model)."""
    given = sum(x is not None for x in (query, like, vector))
    if given > 1:
        raise SemlatError("pass one query: a text, --like IMAGE:REGION, or a vector, not several")
    if like is not None:
        name, region_id = like
        record = ws.image(name)
        ids, vectors = ws.embeddings(key, record)
        hits = np.flatnonzero(ids == region_id)
        if hits.size == 0:
            known = f"regions 0..{int(ids.max())}" if ids.size and ids.max() >= 0 else "no regions"
            raise SemlatError(
                f"image {record.file_name} has no region {region_id} in features {key} ({known}; -1 is the whole image)"
            )
        return vectors[hits[0]].astype(np.float64)
    if vector is not None:
        array = np.asarray(vector, dtype=np.float64).reshape(-1)
        if not np.isfinite(array).all() or np.linalg.norm(array) == 0:
            raise SemlatError("the query vector must be finite and non-zero")
        return array
    if query is None or not query.strip():
        raise SemlatError("empty query: pass a text such as 'fire extinguisher', or --like IMAGE:REGION")
    return None


def _pair_keys(image_ids: npt.ArrayLike, region_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """One int64 per (image, region): image id in the high 32 bits."""
    return (np.asarray(image_ids, np.int64) << 32) | (np.asarray(region_ids, np.int64) & 0xFFFFFFFF)


@dataclass(frozen=True)
class _RegionColumns:
    """Small columns of regions (no masks), sorted by `_pair_keys`: 37 bytes per region.

    Either the whole region set, read once per Workspace (`Workspace.memo`; at 1M regions about
    a third of a second, on a background thread after a Workspace's first search), so that
    later searches find their hits' labels, levels, boxes and areas and apply the label, level
    and area filters without asking LanceDB again; or only the images of one search's hits
    (an indexed lookup), for a search made before the whole set is in memory.
    """

    keys: npt.NDArray[np.int64]
    label: npt.NDArray[np.int32]
    level: npt.NDArray[np.int8]
    bbox: npt.NDArray[np.float32]
    area: npt.NDArray[np.int64]

    @classmethod
    def load(cls, ws: Workspace, region_set: str, image_ids: Sequence[int] | None = None) -> _RegionColumns:
        rows = ws.region_columns(region_set, image_ids)
        if rows.num_rows == 0:
            empty = np.zeros(0, np.int64)
            return cls(empty, np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros((0, 4), np.float32), empty)
        keys = _pair_keys(rows.column("image_id").to_numpy(), rows.column("region_id").to_numpy())
        order = slice(None) if bool(np.all(keys[1:] > keys[:-1])) else np.argsort(keys, kind="stable")
        bbox = rows.column("bbox").combine_chunks().flatten().to_numpy().reshape(-1, 4)
        column = {name: rows.column(name).to_numpy()[order] for name in ("label", "level", "area")}
        return cls(keys[order], column["label"], column["level"], bbox[order], column["area"])

    def find(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Row of each key, −1 where the region is unknown."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, np.int64)
        rows = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[rows] == keys, rows, -1)


def _region_table(ws: Workspace, region_set: str) -> _RegionColumns:
    return ws.memo("regions", ("search", region_set), lambda: _RegionColumns.load(ws, region_set))


def _read_behind(ws: Workspace, region_set: str) -> None:
    """After a search answered from lookups: read the region set's columns and the images on a background thread."""
    ws.prefetch("regions", ("search", region_set), lambda: _RegionColumns.load(ws, region_set))
    ws.prefetch_images()


def _glob_images(ws: Workspace, image_glob: str) -> npt.NDArray[np.int64]:
    """Sorted ids of the images whose file name (or its stem) matches ``image_glob``."""
    ids, names, stems = ws.memo(
        "images",
        "names",
        lambda: (
            np.array([r.image_id for r in ws.images()], np.int64),
            [r.file_name for r in ws.images()],
            [Path(r.file_name).stem for r in ws.images()],
        ),
    )
    match = re.compile(fnmatch.translate(image_glob)).match
    chosen = ids[[bool(match(name) or match(stem)) for name, stem in zip(names, stems)]] if len(ids) else ids
    if not chosen.size:
        examples = ", ".join(names[:3]) or "none"
        raise SemlatError(f"no image matches {image_glob!r} (images are named like {examples})")
    return chosen


def _kept(ws: Workspace, table: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` for one filter, kept with ``table``'s memo for the last `KEPT_FILTERS` filters asked for.

    A search repeated with the same filter (another text, the next page) finds its images and
    allowed regions at once; at 1M regions computing them costs ~10 ms.
    """
    kept = ws.memo(table, "search-filters", dict)
    if key not in kept:
        if len(kept) >= KEPT_FILTERS:
            kept.pop(next(iter(kept)))
        kept[key] = compute()
    return kept[key]


def _member(values: npt.NDArray[np.int64], chosen: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``np.isin(values, chosen)`` for small non-negative ids, by a lookup table (no sort of a million values)."""
    if not len(chosen) or not len(values):
        return np.zeros(len(values), dtype=bool)
    table = np.zeros(int(max(values.max(), chosen.max())) + 1, dtype=bool)
    table[chosen[chosen >= 0]] = True
    return table[np.maximum(values, 0)] & (values >= 0)


def _image_areas(ws: Workspace, region_set: str) -> npt.NDArray[np.float64]:
    """The area of each region's image (in `_RegionColumns` order), kept with the region columns."""

    def load() -> npt.NDArray[np.float64]:
        regions = _region_table(ws, region_set)
        images = ws.images()  # sorted by image id
        ids = np.array([r.image_id for r in images], np.int64)
        areas = np.array([r.width * r.height for r in images], np.float64)
        if not len(ids):
            return np.zeros(len(regions.keys))
        return areas[np.minimum(np.searchsorted(ids, regions.keys >> 32), len(ids) - 1)]

    return ws.memo("regions", ("search-area", region_set), load)


def _allowed_regions(
    ws: Workspace,
    key: FeatureKey,
    image_ids: npt.NDArray[np.int64] | None,
    label: int | None,
    levels: Sequence[int] | None,
    min_area: float | None,
) -> npt.NDArray[np.int64] | None:
    """Sorted `_pair_keys` of the regions passing the label, level and area filters; None when there are none to apply.

    Before the region set's columns are in memory, a label or level filter is one query the
    scalar indexes answer (`Workspace.region_keys`), not a read of every region's columns; those
    are read behind the search (`_hits`) for the searches that follow.
    """
    if label is None and levels is None and min_area is None:
        return None
    if min_area is None and ws.peek("regions", ("search", key.region_set)) is None:
        rows = ws.region_keys(key.region_set, label, levels, None if image_ids is None else image_ids.tolist())
        return np.sort(_pair_keys(rows.column("image_id").to_numpy(), rows.column("region_id").to_numpy()))
    regions = _region_table(ws, key.region_set)
    keep = np.ones(len(regions.keys), dtype=bool) if image_ids is None else _member(regions.keys >> 32, image_ids)
    if label is not None:
        keep &= regions.label == label
    if levels is not None:
        keep &= _member(regions.level.astype(np.int64), np.asarray(list(levels), np.int64))
    if min_area is not None:
        keep &= regions.area >= min_area * _image_areas(ws, key.region_set)
    return regions.keys[keep]


def search(
    ws: Workspace,
    query: str | None = None,
    *,
    like: tuple[str, int] | None = None,
    vector: npt.ArrayLike | None = None,
    top: int = 20,
    by: str = "region",
    key: FeatureKey | None = None,
    score: str = "cosine",
    image_glob: str | None = None,
    label: int | None = None,
    levels: Sequence[int] | None = None,
    min_area: float | None = None,
    whole_images: bool = False,
    exact: bool | None = None,
    text_model: ModelSpec | None = None,
    device: str | None = None,
    clip: Encoder | None = None,
    build_index: bool = True,
) -> list[SearchHit]:
    """Rank the collection's regions (or images) against a text, an example region or a vector.

    Args:
        ws: a workspace with features.
        query: text, encoded with the CLIP that made the features.
        like: (image name, region id) of an example region; its own stored feature is the query.
        vector: a (D,) query vector (normalised here).
        top: how many hits.
        by: "region" (every region ranked) or "image" (images ranked by their best region).
        key: the features to search (default: the workspace's only feature set).
        score: "cosine" or "relevancy" (LERF, against `CANONICAL_PHRASES`).
        image_glob: only images whose file name (or stem) matches, e.g. ``"view_0*"``.
        label: only regions with this cross-view label.
        levels: only regions of these levels (SAM's 0 whole, 1 part, 2 sub-part).
        min_area: only regions covering at least this fraction of their image.
        whole_images: let the whole-image features (region id −1) take part.
        exact: True: always exact search; False: always the index; None: the index past
            `AUTO_INDEX_ROWS` rows (built on first use), exact below.
        text_model: the CLIP for text, only for imported features without a recorded model.
        device: where the text model runs (auto by default).
        clip: the loaded text model to use instead of loading it (a server keeps one).
        build_index: with ``exact=None``, build the vector index when the table has grown past
            the threshold (False: a reader that never writes searches without it).

    Returns:
        Up to ``top`` hits, best first.
    """
    if by not in BY:
        raise SemlatError(f"unknown --by {by!r}: choose region or image")
    if score not in SEARCH_SCORES:
        raise SemlatError(f"unknown score {score!r} for search: choose one of {', '.join(SEARCH_SCORES)}")
    if top < 1:
        raise SemlatError(f"--top must be at least 1 (got {top})")
    if min_area is not None and not 0 <= min_area <= 1:
        raise SemlatError(f"--min-area is a fraction of the image area, between 0 and 1 (got {min_area})")
    key = ws.checked_key(key)
    query_vector = _query_vector(ws, key, query, like, vector)

    if clip is None and (query_vector is None or score == "relevancy"):
        from semlat.encoders import load_encoder, model_of_features  # torch and open_clip load only when needed

        clip = load_encoder(model_of_features(ws, key, text_model), device)
    if query_vector is None:
        query_vector = clip.encode_texts([query.strip()])[0].astype(np.float64)  # type: ignore[union-attr]
    canonical = clip.encode_texts(list(CANONICAL_PHRASES)).astype(np.float64) if score == "relevancy" else None  # type: ignore[union-attr]
    dim = ws.manifest.embedding_dim
    if dim is not None and query_vector.shape[0] != dim:
        raise SemlatError(f"features are {dim}-d but the query is {query_vector.shape[0]}-d: pass the model that made them")
    query_vector = normalize(query_vector, np.float64)

    table, settings = search_plan(ws, exact, build=build_index)
    if table is None:
        return []
    image_ids = _kept(ws, "images", ("glob", image_glob), lambda: _glob_images(ws, image_glob)) if image_glob else None
    wanted_regions = (key.region_set, image_glob, label, None if levels is None else tuple(levels), min_area)
    allowed = _kept(ws, "regions", wanted_regions, lambda: _allowed_regions(ws, key, image_ids, label, levels, min_area))
    if allowed is not None and allowed.size == 0:
        return []
    filters = _Filters.make(ws, key, image_ids, allowed, whole_images, embedding_rows(ws))

    wanted = top if score == "cosine" else max(RELEVANCY_POOL, 10 * top)
    with ws.reading("embeddings"):
        ids, cosines, vectors = _candidates(
            ws, table, query_vector, filters, wanted, top, by, settings, with_vectors=canonical is not None
        )
    if ids.shape[0] == 0:
        return []

    scores = cosines
    if canonical is not None:
        vectors = normalize(vectors, np.float64)
        scores = scores_from_cosines((vectors @ query_vector)[:, None], "relevancy", vectors @ canonical.T)[:, 0]
    order = np.lexsort((ids[:, 1], ids[:, 0], -scores))
    if by == "image":
        _, first = np.unique(ids[order, 0], return_index=True)
        order = order[np.sort(first)]
    order = order[:top]
    return _hits(ws, key.region_set, ids[order], scores[order])


def _hits(ws: Workspace, region_set: str, ids: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> list[SearchHit]:
    """The ranked (image id, region id) pairs with their images' names and their regions' label, box and area.

    From what the Workspace keeps when it is there; else (a newly opened Workspace) from indexed
    lookups of the hits' images only, and the whole region set and images are then read behind.
    """
    kept = ws.peek("regions", ("search", region_set))
    regions = kept if kept is not None else _RegionColumns.load(ws, region_set, np.unique(ids[:, 0]).tolist())
    rows = regions.find(_pair_keys(ids[:, 0], ids[:, 1]))
    images = ws.images_by_id(ids[:, 0].tolist())
    if kept is None:
        _read_behind(ws, region_set)
    hits = []
    for (image_id, region_id), row, score in zip(ids.tolist(), rows.tolist(), scores.tolist()):
        image = images.get(image_id)
        name, width, height = (image.file_name, image.width, image.height) if image else (f"image {image_id}", 0, 0)
        if region_id == WHOLE_IMAGE or row < 0:
            label, bbox, area, level = NO_LABEL, (0.0, 0.0, float(width), float(height)), width * height, 0
        else:
            label, bbox, area = int(regions.label[row]), tuple(float(v) for v in regions.bbox[row]), int(regions.area[row])
            level = int(regions.level[row])
        hits.append(SearchHit(name, image_id, region_id, label, float(score), bbox, area, level))
    return hits


@dataclass(frozen=True)
class _Filters:
    """What a search keeps: the feature key's rows, whole images or not, and the image / region filters.

    ``passing`` estimates how many rows of the embeddings table (``total`` rows) pass (None: no
    image or region filter); ``images`` and ``region_ids`` narrow an exact search's prefilter
    (None: too many to list, or no such filter).
    """

    key: FeatureKey
    whole_images: bool
    image_ids: npt.NDArray[np.int64] | None
    allowed: npt.NDArray[np.int64] | None
    mixed_keys: bool
    total: int
    passing: int | None = None
    images: npt.NDArray[np.int64] | None = None
    region_ids: npt.NDArray[np.int64] | None = None
    per_image: float = 1.0

    @classmethod
    def make(
        cls,
        ws: Workspace,
        key: FeatureKey,
        image_ids: npt.NDArray[np.int64] | None,
        allowed: npt.NDArray[np.int64] | None,
        whole_images: bool,
        total: int,
    ) -> _Filters:
        mixed = len(ws.feature_keys()) > 1
        if image_ids is None and allowed is None:
            return cls(key, whole_images, None, None, mixed, total)
        n_images = max(ws.image_count(), 1)
        per_image = total / n_images
        if allowed is not None:  # sorted by image: its distinct images in one pass, its region ids by counting
            in_image = allowed >> 32
            images = in_image[np.r_[True, in_image[1:] != in_image[:-1]]] if allowed.size else in_image
            region_ids = np.flatnonzero(np.bincount((allowed & 0xFFFFFFFF).astype(np.int64)))
            passing = int(allowed.size)
        else:
            images, region_ids = np.unique(image_ids), None
            passing = int(round(len(images) * per_image))
        return cls(
            key,
            whole_images,
            None if image_ids is None else np.sort(image_ids),
            allowed,
            mixed,
            total,
            passing,
            images if len(images) <= MAX_PREFILTER_IMAGES else None,
            region_ids if region_ids is not None and len(region_ids) <= MAX_PREFILTER_REGIONS else None,
            per_image,
        )

    def key_where(self) -> str | None:
        """The index search's prefilter: the feature key when the table holds several (bitmap-indexed), else none."""
        return rows_filter(self.key if self.mixed_keys else None)

    def flat_where(self) -> str:
        """The exact search's prefilter on a small table: key, whole images and the images."""
        return feature_filter(self.key, None if self.images is None else self.images.tolist(), self.whole_images)

    def narrow_where(self) -> str | None:
        """The exact search's prefilter on a large table: only conditions its scalar indexes answer in a few rows."""
        images = None if self.images is None else self.images.tolist()
        regions = None if self.region_ids is None else self.region_ids.tolist()
        return rows_filter(self.key if self.mixed_keys else None, images, regions)

    def narrow_rows(self) -> float:
        """About how many rows `narrow_where` lets through."""
        images = self.total / self.per_image if self.images is None else len(self.images)
        per_image = self.per_image if self.region_ids is None else min(self.per_image, len(self.region_ids))
        return images * per_image

    def digest(self) -> bytes:
        """What decides `keep`, in a few bytes (a key for what is kept per filter)."""
        parts = [self.whole_images.to_bytes(1, "little")]
        parts += [b"-" if ids is None else ids.tobytes() for ids in (self.image_ids, self.allowed)]
        return hashlib.blake2b(b"|".join(parts), digest_size=16).digest()

    def keep(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which rows, (N, 2) (image id, region id) of the feature key (LanceDB checked it), pass the whole-image, image and region filters."""
        keep = np.ones(len(ids), dtype=bool) if self.whole_images else ids[:, 1] >= 0
        if self.image_ids is not None:
            keep &= _sorted_isin(ids[:, 0], self.image_ids)
        if self.allowed is not None:
            keep &= _sorted_isin(_pair_keys(ids[:, 0], ids[:, 1]), self.allowed)
        return keep


def _sorted_isin(values: npt.NDArray[np.int64], sorted_set: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``np.isin`` against an already sorted array (a binary search per value, no sort of the set)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _pairs(rows: pa.Table) -> npt.NDArray[np.int64]:
    return np.stack([rows.column("image_id").to_numpy(), rows.column("region_id").to_numpy()], axis=1).astype(np.int64)


_Found = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], "npt.NDArray[np.float64] | None"]


def _candidates(
    ws: Workspace,
    table,
    query_vector: npt.NDArray[np.float64],
    filters: _Filters,
    wanted: int,
    top: int,
    by: str,
    settings: IndexSettings | None,
    with_vectors: bool = False,
) -> _Found:
    """(N, 2) (image_id, region_id), (N,) cosines and, ``with_vectors``, (N, D) vectors of the nearest
    rows passing every filter.

    Enough of them for ``wanted`` regions (and ``top`` distinct images when ranking images),
    unless fewer rows pass the filters. Which way (measured at 1M rows: benchmarks/bench_search.py):

    - no index: LanceDB's exact flat search with the filters as its prefilter;
    - the index, no image or region filter: the index's nearest rows, re-ranked by LanceDB on
      their full vectors (``refine_factor``), the whole-image rows dropped here;
    - the index and a filter letting a fraction f of the rows through: the index's nearest
      ``1.25 · pool / f`` rows by their codes alone, filtered here, and the first ``pool``
      survivors (``refine_factor`` × what is wanted, `MIN_REFINE`) re-ranked on their stored
      vectors (read by row id), so that the exact reads are spent on rows that pass;
    - a filter so selective that those rows would be more than the rows it narrows the table
      to: exact search over the rows of the filter's images and region ids (scalar indexes),
      whose vectors are kept for the filter's next searches when they are few (`_narrowed`).
    """
    vector = query_vector.astype(np.float32)
    if settings is None:
        return _exact(table, vector, filters.flat_where(), filters, wanted, top, by, with_vectors)
    if filters.passing is None:
        found = _indexed(table, vector, filters, wanted, top, by, settings, with_vectors)
    else:
        pool = wanted + (max(settings.refine_factor, MIN_REFINE) - 1) * top
        limit = math.ceil(1.25 * pool * filters.total / max(filters.passing, 1))
        found = None
        if limit <= min(POSTFILTER_ROWS, filters.narrow_rows()):
            found = _postfiltered(ws, table, vector, filters, pool, wanted, top, by, settings, with_vectors, limit)
    if found is None:
        return _narrowed(ws, table, vector, filters, wanted, top, by, with_vectors)
    return found


def _narrowed(ws: Workspace, table, vector, filters: _Filters, wanted: int, top: int, by: str, with_vectors: bool) -> _Found:
    """Exact search over the rows a selective filter's images and region ids narrow the table to.

    When those rows' vectors fit in `NARROWED_KEPT_BYTES`, the first search with the filter is
    LanceDB's (exact, prefiltered) and then reads them (normalised, with the rows passing the rest
    of the filter) on a background thread, kept for the filter's next searches: a search repeated
    with one filter (the next query, the next page) is then a product with a few thousand vectors,
    not a read of them; cosines computed here, in float32.
    """
    where = filters.narrow_where()
    if where is None or filters.narrow_rows() * len(vector) * 4 > NARROWED_KEPT_BYTES:
        return _exact(table, vector, where, filters, wanted, top, by, with_vectors)
    key = ("narrowed", where, filters.digest())
    kept = ws.peek("embeddings", key)
    if kept is None:
        found = _exact(table, vector, where, filters, wanted, top, by, with_vectors)
        _read_narrowed_behind(ws, table, key, where, filters)
        return found
    pairs, vectors = kept
    cosines = (vectors @ vector.astype(np.float32)).astype(np.float64)
    order = np.argsort(-cosines, kind="stable")
    count = min(len(order), wanted)
    if by == "image" and len(order):  # as far as the top-th image
        _, first = np.unique(pairs[order, 0], return_index=True)
        count = max(count, int(np.sort(first)[min(top, len(first)) - 1]) + 1)
    chosen = order[:count]
    return pairs[chosen], cosines[chosen], vectors[chosen].astype(np.float64) if with_vectors else None


def _read_narrowed_behind(ws: Workspace, table, key: Hashable, where: str, filters: _Filters) -> None:
    """Read a narrowed filter's rows on a background thread (`Workspace.prefetch`); the oldest past `KEPT_FILTERS` are let go."""

    def read() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        any_vector = np.zeros(ws.manifest.embedding_dim or 1, np.float32)
        any_vector[0] = 1.0
        limit = math.ceil(2 * filters.narrow_rows()) + 64
        while (rows := nearest_rows(table, any_vector, where, limit, ["image_id", "region_id", "vector"])).num_rows == limit:
            limit *= 4  # more rows than estimated: ask for all of them
        keep = filters.keep(_pairs(rows))
        return _pairs(rows)[keep], normalize(_vectors(rows)[keep], np.float32)

    order = ws.memo("embeddings", "narrowed-order", list)
    if key not in order:
        order.append(key)
        while len(order) > KEPT_FILTERS:
            ws.drop("embeddings", order.pop(0))
    ws.prefetch("embeddings", key, read)


def _enough(ids: npt.NDArray[np.int64], wanted: int, top: int, by: str) -> bool:
    return len(ids) >= wanted and (by == "region" or np.unique(ids[:, 0]).size >= top)


def _result(rows: pa.Table, keep: npt.NDArray[np.bool_], with_vectors: bool) -> _Found:
    cosines = 1.0 - rows.column("_distance").to_numpy().astype(np.float64)
    vectors = _vectors(rows)[keep].astype(np.float64) if with_vectors else None
    return _pairs(rows)[keep], cosines[keep], vectors


def _vectors(rows: pa.Table) -> npt.NDArray[np.float32]:
    return rows.column("vector").combine_chunks().flatten().to_numpy().reshape(rows.num_rows, -1)


def _exact(table, vector, where: str | None, filters: _Filters, wanted: int, top: int, by: str, with_vectors: bool) -> _Found:
    """Exact flat search with ``where`` as prefilter, the rest filtered here, asking for 4× more while too few pass."""
    columns = ["image_id", "region_id", *(["vector"] if with_vectors else [])]
    limit = math.ceil(max(wanted, top) * (_FIRST_FETCH if filters.allowed is not None or by == "image" else 1) * 1.25)
    while True:
        rows = nearest_rows(table, vector, where, limit, columns, None)
        keep = filters.keep(_pairs(rows))
        if rows.num_rows < limit or _enough(_pairs(rows)[keep], wanted, top, by):
            return _result(rows, keep, with_vectors)
        limit *= 4


def _indexed(table, vector, filters: _Filters, wanted: int, top: int, by: str, settings: IndexSettings, with_vectors: bool):
    """The index's nearest rows re-ranked by LanceDB; None when too few pass (the caller searches exactly)."""
    columns = ["image_id", "region_id", *(["vector"] if with_vectors else [])]
    limit = math.ceil(max(wanted, top) * (_FIRST_FETCH if by == "image" else 1) * 1.25)  # room for the whole-image rows
    while limit <= POSTFILTER_ROWS:
        rows = nearest_rows(table, vector, filters.key_where(), limit, columns, settings)
        keep = filters.keep(_pairs(rows))
        if _enough(_pairs(rows)[keep], wanted, top, by):
            return _result(rows, keep, with_vectors)
        if rows.num_rows < limit:  # the probed partitions ran out
            return None
        limit *= 4
    return None


def _postfiltered(
    ws: Workspace,
    table,
    vector,
    filters: _Filters,
    pool: int,
    wanted: int,
    top: int,
    by: str,
    settings: IndexSettings,
    with_vectors: bool,
    limit: int,
):
    """The index's nearest ``limit`` rows by their codes, filtered here, the first ``pool`` re-ranked on their vectors.

    None when too few pass even after asking for 4× more (up to `POSTFILTER_ROWS`): the caller then searches exactly.
    The rows' regions are named from their row ids (`_RowPairs`) once those are read, on a background thread after
    the first such search: LanceDB is then asked for row ids and vectors alone, not their id columns.
    """
    coded = replace(settings, refine_factor=0)
    named = ws.peek("embeddings", "row-pairs")
    columns = [] if named is not None else ["image_id", "region_id"]
    while True:
        rows = nearest_rows(table, vector, filters.key_where(), limit, columns, coded, row_ids=True)
        row_ids = rows.column("_rowid").to_numpy()
        pairs = _pairs(rows) if named is None else named.find(row_ids)
        if pairs is None:  # a row the kept ids do not know: not for this table version
            ws.drop("embeddings", "row-pairs")
            return _postfiltered(ws, table, vector, filters, pool, wanted, top, by, settings, with_vectors, limit)
        keep = np.flatnonzero(filters.keep(pairs))
        if _enough(pairs[keep], wanted, top, by):
            break
        if rows.num_rows < limit or limit * 4 > POSTFILTER_ROWS:
            return None
        limit *= 4
    if by == "image":  # re-rank as far as the top-th image, however many of the nearest rows one image holds
        _, first = np.unique(pairs[keep, 0], return_index=True)
        pool = max(pool, int(np.sort(first)[top - 1]) + 1)
    chosen = keep[:pool]
    if named is None:
        read = rows_by_id(table, row_ids[chosen], ["image_id", "region_id", "vector"])
        chosen_pairs = _pairs(read)
        ws.prefetch("embeddings", "row-pairs", lambda: _RowPairs(*row_pairs(table)))
    else:
        read = rows_by_id(table, row_ids[chosen], ["vector"], with_row_ids=True)
        chosen_pairs = named.find(read.column("_rowid").to_numpy())
    vectors = normalize(_vectors(read), np.float64)
    cosines = vectors @ vector.astype(np.float64)
    return chosen_pairs, cosines, vectors if with_vectors else None


class _RowPairs:
    """Every embeddings row's (image id, region id) by its LanceDB row id (`row_pairs`): 20 bytes a row.

    Read once per Workspace and table handle (`Workspace.memo`), behind the first filtered index search. A row id is
    its fragment (high 32 bits) and its offset in the fragment; each fragment's offsets index a dense array of
    positions (−1 where a row was deleted), so naming 2,000 rows is a gather, not 2,000 binary searches of 1M ids.
    """

    def __init__(self, row_ids: npt.NDArray[np.uint64], pairs: npt.NDArray[np.int64]) -> None:
        self.pairs = pairs
        fragments, offsets = (row_ids >> np.uint64(32)).astype(np.int64), (row_ids & np.uint64(0xFFFFFFFF)).astype(np.int64)
        self.fragments, first = np.unique(fragments, return_index=True)
        last = np.r_[first[1:], len(row_ids)] - 1  # sorted ids: each fragment's rows are one run
        lengths = offsets[last] + 1 if len(row_ids) else np.zeros(0, np.int64)
        self.bases = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64) if len(lengths) else lengths
        self.lengths = lengths
        self.positions = np.full(int(lengths.sum()), -1, np.int32)
        fragment_of = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(row_ids)]))
        self.positions[self.bases[fragment_of] + offsets] = np.arange(len(row_ids))

    def find(self, row_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64] | None:
        """(N, 2) pairs of these row ids; None if one is unknown."""
        if len(row_ids) == 0:
            return np.zeros((0, 2), np.int64)
        if len(self.fragments) == 0:
            return None
        fragments = (row_ids >> np.uint64(32)).astype(np.int64)
        offsets = (row_ids & np.uint64(0xFFFFFFFF)).astype(np.int64)
        at = np.minimum(np.searchsorted(self.fragments, fragments), len(self.fragments) - 1)
        if not bool(np.all((self.fragments[at] == fragments) & (offsets < self.lengths[at]))):
            return None
        positions = self.positions[self.bases[at] + offsets]
        return None if bool(np.any(positions < 0)) else self.pairs[positions]
