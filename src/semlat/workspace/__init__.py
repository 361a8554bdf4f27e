"""Workspace: the one data model every stage reads and writes through."""

from semlat.workspace.store import Workspace, embeddings_stage, regions_stage

__all__ = ["Workspace", "embeddings_stage", "regions_stage"]
