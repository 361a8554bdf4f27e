"""`semlat run`: masks → embed → query, each stage resuming on its own."""

from __future__ import annotations

from pathlib import Path

from semlat.encoders.openclip import ModelSpec, resolve_weights
from semlat.stages.embed import embed_regions
from semlat.stages.masks import propose_regions
from semlat.stages.query.stage import query_to_files
from semlat.workspace import Workspace


def run_pipeline(
    images_dir: str | Path,
    workspace: str | Path,
    prompts: list[str],
    out_dir: str | Path,
    backend: str = "classical",
    spec: ModelSpec = ModelSpec(),
    strategy: str = "masked-crop",
    fusion: str = "sum",
    score: str = "softmax",
    device: str | None = None,
) -> Path:
    """Propose regions, embed them and answer ``prompts`` for every image; returns the output folder."""
    resolve_weights(spec)  # a missing model fails before any region is written
    propose_regions(Workspace.open_or_create(workspace), images_dir, backend=backend)
    key = embed_regions(workspace, spec, strategy, region_set=backend, device=device)
    return query_to_files(workspace, prompts, out_dir, key=key, fusion=fusion, score=score, device=device)
