"""`semlat run`: masks → embed → query, each stage resuming on its own."""

from __future__ import annotations

from pathlib import Path

from semlat.device import resolve_device
from semlat.encoders import ModelSpec, load_encoder, model_spec
from semlat.files import check_output_dir
from semlat.formats.scenes import read_scene
from semlat.imageio import MAX_PIXELS
from semlat.regions.bundled import default_backend
from semlat.stages.embed import check_embedding, embed_regions
from semlat.stages.masks import propose_regions
from semlat.stages.query import check_query, query_to_files
from semlat.workspace import Workspace


def run_pipeline(
    ws: Workspace,
    scene: str | Path,
    prompts: list[str],
    out_dir: str | Path,
    *,
    images_subdir: str | None = None,
    colmap: str | Path | None = None,
    backend: str | None = None,
    model: ModelSpec | None = None,
    strategy: str = "masked-crop",
    fusion: str = "sum",
    score: str = "softmax",
    device: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Path:
    """Propose regions, embed them and answer ``prompts`` for every image; returns the output folder.

    ``scene`` is a folder of photos or a COLMAP / nerfstudio scene (`read_scene`, with
    ``images_subdir`` and ``colmap``); other args as the stages': `propose_regions`,
    `embed_regions`, `query_to_files`.
    """
    model = model or model_spec()
    backend = backend or default_backend()
    check_query(prompts, fusion, score)  # every option is checked before the first write
    check_embedding(strategy)
    resolve_device(device)
    check_output_dir(out_dir)
    found = read_scene(Path(scene), images_subdir=images_subdir, colmap=None if colmap is None else Path(colmap))
    encoder = load_encoder(model, device)  # a missing or broken model fails before any region is written
    propose_regions(ws, found.image_paths, scene=found, backend=backend, max_pixels=max_pixels)
    key = embed_regions(ws, encoder=encoder, strategy=strategy, region_set=backend, device=device)
    return query_to_files(ws, prompts, out_dir, key=key, fusion=fusion, score=score, device=device)
