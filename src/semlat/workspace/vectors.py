"""The vector index on the embeddings table, and the one place that asks LanceDB for nearest neighbours.

Below ``AUTO_INDEX_ROWS`` rows every search is exact: LanceDB's flat search (no index) compares
the query with every row that passes the filter, so the ranking is the exact cosine ranking. At
or above it, `ensure_index` builds an approximate index once (cosine metric, recorded in the
manifest under ``"index"``) and searches go through it; rows added later are still found, since
LanceDB scans rows not yet in the index exactly, and `ensure_index` folds them into the index
once they are more than a tenth of it. With the vector index come scalar indexes on the id, key,
label, level and area columns (`SCALAR_INDEXES`), so that prefilters and lookups by id read
index pages, not whole columns.

The index type and its search settings were chosen with ``benchmarks/bench_search.py`` (1M
clustered 512-d unit vectors, 2 CPU cores): see ``benchmarks/results/search.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import lancedb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from lancedb.background_loop import LOOP

from semlat.errors import SemlatError
from semlat.workspace.store import DATABASE_NAME, Workspace

TABLE = "embeddings"
VECTOR_COLUMN = "vector"
AUTO_INDEX_ROWS = 100_000
"""Searches build the index themselves once the embeddings table has this many rows."""
STALE_FRACTION = 0.1
"""Rows added since the build, as a fraction of the indexed rows, that make `ensure_index` update it."""
INDEX_TYPES = ("IVF_PQ", "IVF_HNSW_SQ", "IVF_HNSW_PQ")
SCALAR_INDEXES: dict[str, dict[str, str]] = {
    TABLE: {"image_id": "BTREE", "region_id": "BTREE", "region_set": "BITMAP", "model_key": "BITMAP", "feature_set": "BITMAP"},
    "regions": {
        "image_id": "BTREE",
        "region_id": "BTREE",
        "region_set": "BITMAP",
        "label": "BITMAP",
        "level": "BITMAP",
        "area": "BTREE",
    },
    "images": {"image_id": "BTREE"},
}
"""The scalar indexes built with the vector index (column: kind), so that filters and lookups by
image, region, feature key, label, level or area read index pages instead of scanning columns:
B-trees for ids and numbers, bitmaps for columns with a handful of values."""


@dataclass(frozen=True)
class IndexSettings:
    """How the index is built and searched.

    Args:
        index_type: "IVF_PQ" (product quantised, small and fast to build), "IVF_HNSW_SQ" or
            "IVF_HNSW_PQ" (an HNSW graph per partition over 8-bit scalar or product codes).
        num_partitions: IVF partitions; None picks about one per 4096 rows (1 to 1024).
        num_sub_vectors: PQ sub-vectors; None picks dim / 16 (16 dims per 8-bit code).
        nprobes: partitions searched per query.
        refine_factor: the search reads refine_factor × limit full vectors to re-rank exactly
            (0: no re-ranking, distances from the codes).
        ef: HNSW candidate list size per partition (at least the limit).
        m: HNSW edges per node (build).
        ef_construction: HNSW candidate list size while building.
    """

    index_type: str = "IVF_PQ"
    num_partitions: int | None = None
    num_sub_vectors: int | None = None
    nprobes: int = 4
    refine_factor: int = 10
    ef: int = 64
    m: int = 20
    ef_construction: int = 300

    def resolved(self, rows: int, dim: int) -> IndexSettings:
        """These settings with the sizes filled in for a table of ``rows`` vectors of ``dim``."""
        partitions = self.num_partitions or max(1, min(1024, round(rows / 4096)))
        sub_vectors = self.num_sub_vectors or (dim // 16 if dim % 16 == 0 else dim // 8 if dim % 8 == 0 else 1)
        return replace(self, num_partitions=partitions, num_sub_vectors=sub_vectors)


def embeddings_table(ws: Workspace):
    """The LanceDB embeddings table, or None when nothing was embedded yet."""
    return ws.table(TABLE)


def search_table(ws: Workspace):
    """The embeddings table as LanceDB's asynchronous handle, for `nearest_rows` and `rows_by_id` (None: no table).

    Why not the synchronous handle the rest of the workspace uses: its ``search(...).to_arrow()``
    hands the query to LanceDB's background event loop six times (three schema lookups, the
    plan, each batch), about 3 ms of a 6 ms top-10 search on 2 cores; a query built on the
    asynchronous handle and run on that same loop (``LOOP.run``) crosses once
    (``benchmarks/results/search.json``). Kept per Workspace until it writes the table, like
    `Workspace.memo`, so it sees what the synchronous handle sees.
    """
    if embeddings_table(ws) is None:
        return None

    async def open_table():
        connection = await lancedb.connect_async(str(ws.root / DATABASE_NAME))
        return await connection.open_table(TABLE)

    return ws.memo(TABLE, "async handle", lambda: LOOP.run(open_table()))


def _vector_index(table) -> Any | None:
    for config in table.list_indices():
        if VECTOR_COLUMN in config.columns and config.index_type.upper().replace("_", "") not in ("BTREE", "BITMAP", "LABELLIST"):
            return config
    return None


def index_info(ws: Workspace) -> dict[str, Any] | None:
    """What the manifest records about the index (None when there is none in the table)."""
    table = embeddings_table(ws)
    if table is None or _vector_index(table) is None:
        return None
    return ws.manifest.index or {"index_type": "unknown"}


def build_index(ws: Workspace, settings: IndexSettings | None = None, min_rows: int = 0) -> dict[str, Any]:
    """Build (or rebuild) the cosine vector index of the embeddings table; returns the manifest record.

    Args:
        ws: the workspace.
        settings: index type and sizes (defaults: `IndexSettings()`).
        min_rows: refuse tables with fewer rows (exact search is used below `AUTO_INDEX_ROWS`
            anyway; 0 builds on any table large enough to train on).
    """
    from lancedb.index import IvfHnswPq, IvfHnswSq, IvfPq

    settings = settings or IndexSettings()
    if settings.index_type not in INDEX_TYPES:
        raise SemlatError(f"unknown index type {settings.index_type!r}: choose one of {', '.join(INDEX_TYPES)}")
    table = embeddings_table(ws)
    rows = 0 if table is None else table.count_rows()
    if rows == 0:
        raise SemlatError(f"workspace {ws.root} has no embeddings to index: run `semlat embed` first")
    if rows < max(min_rows, 256):
        raise SemlatError(
            f"only {rows} embeddings in {ws.root}: below {max(min_rows, 256)} rows searches are exact and need no index"
        )
    dim = int(table.schema.field(VECTOR_COLUMN).type.list_size)
    settings = settings.resolved(rows, dim)
    graph = {"m": settings.m, "ef_construction": settings.ef_construction}
    if settings.index_type == "IVF_PQ":
        config = IvfPq(distance_type="cosine", num_partitions=settings.num_partitions, num_sub_vectors=settings.num_sub_vectors)
    elif settings.index_type == "IVF_HNSW_SQ":
        config = IvfHnswSq(distance_type="cosine", num_partitions=settings.num_partitions, **graph)
    else:
        config = IvfHnswPq(
            distance_type="cosine", num_partitions=settings.num_partitions, num_sub_vectors=settings.num_sub_vectors, **graph
        )
    start = time.perf_counter()
    with ws.writing():
        table.create_index(VECTOR_COLUMN, config=config, replace=True)
    seconds = time.perf_counter() - start
    scalar_indexes(ws)
    ws.forget(TABLE)
    record = {**asdict(settings), "metric": "cosine", "rows": rows, "dim": dim, "build_seconds": round(seconds, 3)}
    ws.manifest.index = record
    ws.save_manifest()
    return record


def scalar_indexes(ws: Workspace, missing_only: bool = False) -> list[str]:
    """Build the `SCALAR_INDEXES` (all of them, or ``missing_only``); returns ``table.column`` of each built.

    A search's filters (image ids, feature key) become LanceDB prefilters answered from these
    indexes, and a newly opened workspace looks up its hits' regions and images by id through
    them (at 1M regions a few ms each instead of a scan of the columns, ~10× more).
    """
    from lancedb.index import Bitmap, BTree

    built = []
    for name, columns in SCALAR_INDEXES.items():
        table = ws.table(name)
        if table is None or not table.count_rows():
            continue
        have = {config.columns[0] for config in table.list_indices()} if missing_only else set()
        for column, kind in columns.items():
            if column in have:
                continue
            with ws.writing():
                table.create_index(column, config=BTree() if kind == "BTREE" else Bitmap(), replace=True)
            built.append(f"{name}.{column}")
        if any(entry.startswith(f"{name}.") for entry in built):
            ws.forget(name)  # only a table that changed drops what is kept of it
    return built


def needs_index(ws: Workspace, min_rows: int = AUTO_INDEX_ROWS) -> bool:
    """Whether the next default search will build the index first (a large table without one)."""
    table = embeddings_table(ws)
    return table is not None and _vector_index(table) is None and table.count_rows() >= min_rows


def ensure_index(ws: Workspace, min_rows: int = AUTO_INDEX_ROWS) -> str:
    """Build the index past ``min_rows`` rows, or fold rows added since into it.

    Returns what was done: "none" (small table or up to date), "built" or "updated".
    """
    table = embeddings_table(ws)
    if table is None:
        return "none"
    index = _vector_index(table)
    if index is None:
        if table.count_rows() < min_rows:
            return "none"
        build_index(ws, IndexSettings(**_stored_settings(ws)), min_rows=min_rows)
        return "built"
    built: list[str] = []
    if not set(SCALAR_INDEXES[TABLE]) <= {config.columns[0] for config in table.list_indices()}:
        try:  # an index made before the scalar indexes came with it
            built = scalar_indexes(ws, missing_only=True)
        except SemlatError:  # a read-only workspace: searches still work, their filters scan the columns
            pass
    stats = table.index_stats(index.name)
    if stats is not None and stats.num_unindexed_rows > STALE_FRACTION * max(stats.num_indexed_rows, 1):
        regions = ws.table("regions")
        with ws.writing():
            table.optimize()
            if regions is not None:
                regions.optimize()
        ws.forget(TABLE)
        return "updated"
    return "updated" if built else "none"


def _stored_settings(ws: Workspace) -> dict[str, Any]:
    record = ws.manifest.index or {}
    fields = IndexSettings.__dataclass_fields__
    return {name: value for name, value in record.items() if name in fields and name not in ("num_partitions", "num_sub_vectors")}


def search_settings(ws: Workspace) -> IndexSettings:
    """The search-time settings recorded with the index (defaults when not recorded)."""
    record = ws.manifest.index or {}
    fields = IndexSettings.__dataclass_fields__
    return IndexSettings(**{name: value for name, value in record.items() if name in fields})


def use_index(ws: Workspace, exact: bool | None) -> bool:
    """Whether a search goes through the ANN index: never when ``exact``; by default only past the threshold."""
    return search_plan(ws, exact, build=False)[1] is not None


def search_plan(ws: Workspace, exact: bool | None, build: bool = True) -> tuple[Any, IndexSettings | None]:
    """The embeddings table (`search_table`) and the index settings a search uses (None: exact search).

    ``exact=None`` (the default of `search`) first runs `ensure_index` when ``build``, then uses
    the index only on tables of at least `AUTO_INDEX_ROWS` rows, so small sets are searched
    exactly even if someone built an index on them. ``exact=False`` always uses the index.
    Both checks are made once per Workspace and table state (`Workspace.memo`), not per search.
    """
    synchronous = embeddings_table(ws)
    if synchronous is None:
        return None, None
    if exact:
        return search_table(ws), None
    if exact is None and build:
        ws.memo(TABLE, "ensure_index", lambda: ensure_index(ws))
    has_index, rows = _index_state(ws, synchronous)
    table = search_table(ws)  # opened after a build, so that it sees the index
    if not has_index:
        if exact is False:
            raise SemlatError(f"workspace {ws.root} has no vector index: run `semlat index -w {ws.root}` first")
        return table, None
    if exact is None and rows < AUTO_INDEX_ROWS:
        return table, None
    return table, search_settings(ws)


def nearest_rows(
    table,
    vector: npt.NDArray[np.float32],
    where: str | None,
    limit: int,
    columns: list[str],
    settings: IndexSettings | None = None,
    row_ids: bool = False,
) -> pa.Table:
    """The ``limit`` rows of ``table`` (`search_table`) nearest to ``vector`` by cosine among those matching ``where``.

    Exact (flat) search when ``settings`` is None, else through the index with its settings.
    The result has ``columns`` plus ``_distance`` (1 − cosine), nearest first, and ``_rowid``
    when ``row_ids`` (for `rows_by_id`). A ``where`` on indexed columns (`SCALAR_INDEXES`) is
    answered from the indexes, as a prefilter; on others it is a scan of the column.
    """
    query = table.query().nearest_to(np.asarray(vector, np.float32)).column(VECTOR_COLUMN).distance_type("cosine")
    if where:
        query = query.where(where)
    query = query.select([*columns, "_distance"]).limit(limit)
    if row_ids:
        query = query.with_row_id()
    if settings is None:
        query = query.bypass_vector_index()
    else:
        query = query.nprobes(settings.nprobes)
        if settings.refine_factor > 0:
            query = query.refine_factor(settings.refine_factor)
        if settings.index_type != "IVF_PQ":  # the graph's candidate list must hold every row to re-rank
            query = query.ef(max(settings.ef, limit * max(settings.refine_factor, 1)))
    return LOOP.run(query.to_arrow())


def rows_by_id(table, row_ids: npt.NDArray[np.uint64], columns: list[str], with_row_ids: bool = False) -> pa.Table:
    """The rows with these LanceDB row ids (from `nearest_rows` ``row_ids``; same table handle), in any order.

    ``with_row_ids``: with their ``_rowid`` too, to tell which is which.
    """
    if len(row_ids) == 0:
        query = table.query().select(columns).where("false").limit(0)
        return LOOP.run((query.with_row_id() if with_row_ids else query).to_arrow())
    take = table.take_row_ids([int(i) for i in row_ids]).select(columns)
    return LOOP.run((take.with_row_id() if with_row_ids else take).to_arrow())


def row_pairs(table) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Every row's LanceDB row id, sorted, and its (image id, region id) pair ((N, 2) int64), through ``table``'s handle.

    So that a search that asks LanceDB for row ids alone (half the time of asking for the ids'
    columns too: ``benchmarks/results/lancedb_plan.json``) can name its rows' regions itself.
    Valid for the handle's table version: keep it with the handle (`Workspace.memo`).
    """
    rows = LOOP.run(table.query().select(["image_id", "region_id"]).with_row_id().to_arrow())
    row_ids = rows.column("_rowid").to_numpy()
    pairs = np.stack([rows.column("image_id").to_numpy(), rows.column("region_id").to_numpy()], axis=1).astype(np.int64)
    if len(row_ids) > 1 and not bool(np.all(row_ids[1:] > row_ids[:-1])):
        order = np.argsort(row_ids, kind="stable")
        row_ids, pairs = row_ids[order], pairs[order]
    return row_ids, pairs


def embedding_rows(ws: Workspace) -> int:
    """Rows of the embeddings table (all feature keys), counted once per Workspace and table state."""
    table = embeddings_table(ws)
    if table is None:
        return 0
    return _index_state(ws, table)[1]


def _index_state(ws: Workspace, table) -> tuple[bool, int]:
    """Whether the embeddings table has a vector index, and its rows: once per Workspace and table state."""
    return ws.memo(TABLE, "index_state", lambda: (_vector_index(table) is not None, table.count_rows()))
