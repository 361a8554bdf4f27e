"""Workspace: the one data model every stage reads and writes through (a manifest plus LanceDB)."""

from semlat.workspace.manifest import Manifest
from semlat.workspace.scene import CameraPose, Observations, SceneSource, SceneTracks
from semlat.workspace.store import Workspace, embeddings_stage, feature_filter, regions_stage, rows_filter
from semlat.workspace.vectors import (
    AUTO_INDEX_ROWS,
    IndexSettings,
    build_index,
    embedding_rows,
    ensure_index,
    index_info,
    nearest_rows,
    needs_index,
    row_pairs,
    rows_by_id,
    search_plan,
    use_index,
)

__all__ = [
    "AUTO_INDEX_ROWS",
    "CameraPose",
    "IndexSettings",
    "Manifest",
    "Observations",
    "SceneSource",
    "SceneTracks",
    "Workspace",
    "build_index",
    "embedding_rows",
    "embeddings_stage",
    "ensure_index",
    "feature_filter",
    "index_info",
    "nearest_rows",
    "needs_index",
    "regions_stage",
    "row_pairs",
    "rows_by_id",
    "rows_filter",
    "search_plan",
    "use_index",
]
