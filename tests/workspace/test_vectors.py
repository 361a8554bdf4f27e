"""The vector index and nearest-neighbour queries: exact below the threshold, the index when asked, kept up to date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.types import FeatureKey
from semlat.workspace import (
    IndexSettings,
    Workspace,
    build_index,
    ensure_index,
    feature_filter,
    index_info,
    nearest_rows,
    needs_index,
    row_pairs,
    rows_by_id,
    rows_filter,
    search_plan,
    use_index,
)
from semlat.workspace.vectors import SCALAR_INDEXES, search_settings

DIM = 16
KEY = FeatureKey("rs", "toy:unit", "raw")


def unit(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def add_vectors(ws: Workspace, vectors_per_image: list[np.ndarray], key: FeatureKey = KEY) -> None:
    """One image per entry; its rows are the whole image (-1) then regions 0, 1, …"""
    start = len(ws.images())
    names = [(Path(f"/photos/view_{start + i:02d}.png"), 32, 24, f"sha{start + i}") for i in range(len(vectors_per_image))]
    ws.claim_config("feature_sets", str(key), {"strategy": "test"}, hint="")
    for record, vectors in zip(ws.add_images(names), vectors_per_image):
        ws.write_embeddings(key, record.image_id, [-1, *range(len(vectors) - 1)], unit(vectors))


def clustered_vectors(rng: np.random.Generator, images: int, rows: int = 101) -> list[np.ndarray]:
    centres = unit(np.random.default_rng(0).normal(size=(12, DIM)))
    return [unit(centres[rng.integers(0, 12, rows)] + 0.3 * rng.normal(size=(rows, DIM))) for _ in range(images)]


@pytest.fixture
def clustered(tmp_path) -> tuple[Workspace, np.ndarray]:
    """606 rows (6 images × 101) around 12 centres: enough to train an index; and all of them as one array."""
    ws = Workspace.open_or_create(tmp_path / "ws")
    per_image = clustered_vectors(np.random.default_rng(0), 6)
    add_vectors(ws, per_image)
    return ws, np.concatenate(per_image)


COLUMNS = ["image_id", "region_id"]


def _pairs(rows) -> list[tuple[int, int]]:
    return list(zip(rows.column("image_id").to_pylist(), rows.column("region_id").to_pylist()))


@pytest.mark.parametrize(
    ("settings", "rows", "dim", "partitions", "sub_vectors"),
    [
        (IndexSettings(), 1000, 512, 1, 32),
        (IndexSettings(), 1_000_000, 512, 244, 32),  # about one partition per 4096 rows
        (IndexSettings(), 10_000_000, 512, 1024, 32),  # at most 1024
        (IndexSettings(), 5000, 24, 1, 3),  # 8 dims per code when 16 does not divide
        (IndexSettings(), 5000, 7, 1, 1),
        (IndexSettings("IVF_HNSW_SQ", 5, 2, nprobes=9), 1_000_000, 512, 5, 2),  # given sizes are kept
    ],
)
def test_index_settings_fill_in_the_sizes(settings, rows, dim, partitions, sub_vectors):
    resolved = settings.resolved(rows, dim)
    assert (resolved.num_partitions, resolved.num_sub_vectors) == (partitions, sub_vectors)
    assert (resolved.index_type, resolved.nprobes, resolved.refine_factor, resolved.ef) == (
        settings.index_type,
        settings.nprobes,
        settings.refine_factor,
        settings.ef,
    )


def test_exact_nearest_rows_are_the_cosine_ranking_within_the_filter(clustered):
    ws, vectors = clustered
    table, settings = search_plan(ws, exact=None)
    assert settings is None  # no index, few rows: exact
    pairs = [(image, region) for image in range(6) for region in range(-1, 100)]
    q = unit(np.random.default_rng(5).normal(size=DIM))
    cosines = vectors.astype(np.float64) @ q
    rows = nearest_rows(table, q, feature_filter(KEY), 12, COLUMNS)
    assert _pairs(rows) == [pairs[i] for i in np.argsort(-cosines)[:12]]
    np.testing.assert_allclose(rows.column("_distance").to_numpy(), 1 - np.sort(cosines)[::-1][:12], atol=1e-5)
    only_3 = nearest_rows(table, q, feature_filter(KEY, [3], whole_images=False), 1000, COLUMNS)
    in_3 = [i for i, (image, region) in enumerate(pairs) if image == 3 and region >= 0]
    assert _pairs(only_3) == [pairs[i] for i in sorted(in_3, key=lambda i: -cosines[i])]


@pytest.mark.parametrize("index_type", ["IVF_PQ", "IVF_HNSW_SQ", "IVF_HNSW_PQ"])
def test_an_index_is_recorded_and_used_only_when_asked_below_the_threshold(clustered, index_type):
    ws, _ = clustered
    assert index_info(ws) is None and not use_index(ws, None) and not use_index(ws, True)
    record = build_index(ws, IndexSettings(index_type, num_partitions=2, num_sub_vectors=4))
    assert record["metric"] == "cosine" and (record["index_type"], record["rows"], record["dim"]) == (index_type, 606, DIM)
    assert index_info(ws) == record == Workspace.open(ws.root).manifest.index
    assert not use_index(ws, None)  # below the threshold: exact
    assert not use_index(ws, True) and use_index(ws, False)
    table, settings = search_plan(ws, exact=False)
    assert settings == search_settings(ws) and settings.index_type == index_type
    q = unit(np.random.default_rng(6).normal(size=DIM))
    exact = _pairs(nearest_rows(table, q, feature_filter(KEY), 10, COLUMNS))
    approximate = _pairs(nearest_rows(table, q, feature_filter(KEY), 10, COLUMNS, settings))
    assert len(set(exact) & set(approximate)) >= 8  # approximate, but close


def test_an_index_needs_rows_and_a_known_type(tmp_path):
    ws = Workspace.open_or_create(tmp_path / "ws")
    with pytest.raises(SemlatError, match="no embeddings to index"):
        build_index(ws)
    add_vectors(ws, [unit(np.random.default_rng(0).normal(size=(5, DIM)))] * 3)
    with pytest.raises(SemlatError, match="need no index"):
        build_index(ws)
    with pytest.raises(SemlatError, match="unknown index type 'FLAT'"):
        build_index(ws, IndexSettings("FLAT"))
    with pytest.raises(SemlatError, match="no vector index"):
        search_plan(ws, exact=False)
    assert index_info(ws) is None and ws.manifest.index is None


def test_ensure_index_builds_past_the_threshold_and_folds_new_rows_in(clustered):
    ws, _ = clustered
    assert needs_index(ws, min_rows=606) and not needs_index(ws, min_rows=607)
    assert ensure_index(ws, min_rows=607) == "none" and index_info(ws) is None
    assert ensure_index(ws, min_rows=606) == "built" and index_info(ws)["rows"] == 606
    assert not needs_index(ws, min_rows=606) and ensure_index(ws, min_rows=606) == "none"
    add_vectors(ws, clustered_vectors(np.random.default_rng(1), 1, rows=50))  # 50 new rows: under a tenth of 606
    assert ensure_index(ws, min_rows=606) == "none"
    add_vectors(ws, clustered_vectors(np.random.default_rng(2), 1, rows=50))  # 100 new rows: over a tenth
    assert ensure_index(ws, min_rows=606) == "updated"
    assert ensure_index(ws, min_rows=606) == "none"


def test_rows_filter_writes_only_the_conditions_asked_for():
    assert rows_filter(None) is None
    assert rows_filter(None, [3, 1], [7]) == "image_id IN (1, 3) AND region_id IN (7)"
    assert rows_filter(KEY, whole_images=False) == (
        "region_set = 'rs' AND model_key = 'toy:unit' AND feature_set = 'raw' AND region_id >= 0"
    )
    assert feature_filter(KEY, [2]) == "region_set = 'rs' AND model_key = 'toy:unit' AND feature_set = 'raw' AND image_id IN (2)"


def test_scalar_indexes_come_with_the_index_and_are_added_to_an_older_one(clustered):
    ws, _ = clustered
    build_index(ws, IndexSettings(num_partitions=2, num_sub_vectors=4))
    table = ws.table("embeddings")

    def kinds():
        return {config.columns[0]: config.index_type.upper() for config in table.list_indices()}

    assert {column: kinds().get(column) for column in SCALAR_INDEXES["embeddings"]} == SCALAR_INDEXES["embeddings"]
    for column in ("region_id", "model_key"):  # as an index built before the scalar indexes came with it
        table.drop_index(f"{column}_idx")
    assert "region_id" not in kinds()
    assert ensure_index(ws, min_rows=606) == "updated" and set(SCALAR_INDEXES["embeddings"]) <= set(kinds())
    assert ensure_index(ws, min_rows=606) == "none"


def test_rows_by_id_reads_the_rows_a_search_named(clustered):
    ws, vectors = clustered
    table, _ = search_plan(ws, exact=True)
    q = unit(np.random.default_rng(8).normal(size=DIM))
    near = nearest_rows(table, q, None, 5, COLUMNS, row_ids=True)
    rows = rows_by_id(table, near.column("_rowid").to_numpy(), [*COLUMNS, "vector"])
    assert sorted(_pairs(rows)) == sorted(_pairs(near))
    index = {pair: i for i, pair in enumerate((image, region) for image in range(6) for region in range(-1, 100))}
    stored = rows.column("vector").combine_chunks().flatten().to_numpy().reshape(rows.num_rows, -1)
    np.testing.assert_array_equal(stored, vectors[[index[pair] for pair in _pairs(rows)]])
    assert rows_by_id(table, np.zeros(0, np.uint64), COLUMNS).num_rows == 0


def test_row_pairs_name_every_row_by_its_row_id(clustered):
    ws, vectors = clustered
    table, _ = search_plan(ws, exact=True)
    row_ids, pairs = row_pairs(table)
    assert len(row_ids) == len(vectors) and bool(np.all(row_ids[1:] > row_ids[:-1]))
    near = nearest_rows(table, unit(np.random.default_rng(9).normal(size=DIM)), None, 7, COLUMNS, row_ids=True)
    named = pairs[np.searchsorted(row_ids, near.column("_rowid").to_numpy())]
    assert [tuple(p) for p in named.tolist()] == _pairs(near)
    rows = rows_by_id(table, near.column("_rowid").to_numpy(), ["vector"], with_row_ids=True)
    assert sorted(rows.column("_rowid").to_pylist()) == sorted(near.column("_rowid").to_pylist())
