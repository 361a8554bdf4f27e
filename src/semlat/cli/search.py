"""`semlat search` and `semlat index`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, err, out
from semlat.cli.options import (
    FRACTION,
    POSITIVE,
    Device,
    Features,
    Level,
    RegionSet,
    TextModel,
    TextPretrained,
    Workspace_,
    open_features,
)


@app.command("search")
def search_command(
    workspace: Workspace_,
    text: Annotated[Optional[str], typer.Argument(help="What to look for, e.g. 'fire extinguisher'.")] = None,
    like: Annotated[Optional[str], typer.Option(help="Query by example: IMAGE:REGION (region -1 is the whole image).")] = None,
    top: Annotated[int, typer.Option(help="How many results.", callback=POSITIVE)] = 20,
    by: Annotated[str, typer.Option(help="region: rank regions; image: rank images by their best region.")] = "region",
    score: Annotated[str, typer.Option(help="cosine, or relevancy (LERF, against canonical phrases).")] = "cosine",
    image: Annotated[Optional[str], typer.Option(help="Only images whose file name matches this glob, e.g. 'view_0*'.")] = None,
    label: Annotated[Optional[int], typer.Option(help="Only regions with this cross-view label.")] = None,
    level: Level = None,
    min_area: Annotated[
        Optional[float], typer.Option(help="Only regions covering at least this fraction of their image.", callback=FRACTION)
    ] = None,
    exact: Annotated[bool, typer.Option(help="Exact search even where a vector index exists.")] = False,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Folder for search.png (contact sheet) and search.json.")
    ] = None,
    region_set: RegionSet = None,
    features: Features = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """Rank regions (or images) of the whole collection by a text or an example region."""
    from semlat.encoders import model_spec
    from semlat.stages.search import parse_like, search, write_results
    from semlat.workspace import AUTO_INDEX_ROWS, needs_index

    ws, key = open_features(workspace, region_set, features)
    if not exact and needs_index(ws):
        err.print(f"more than {AUTO_INDEX_ROWS} embeddings: building the vector index once (`semlat index`)…")
    text_model = model_spec(model, pretrained) if model else None
    example = parse_like(like) if like is not None else None
    hits = search(
        ws,
        text,
        like=example,
        top=top,
        by=by,
        key=key,
        score=score,
        image_glob=image,
        label=label,
        levels=level,
        min_area=min_area,
        exact=True if exact else None,
        text_model=text_model,
        device=device,
    )
    if not hits:
        out.print("no matching regions")
    for rank, hit in enumerate(hits, 1):
        x, y, w, h = hit.bbox
        out.print(
            f"{rank:3d}  {hit.score:.4f}  {hit.image}:{hit.region_id}  label {hit.label}  bbox {x:.0f},{y:.0f},{w:.0f},{h:.0f}",
            highlight=False,
        )
    if output is not None:
        settings = {
            "query": text,
            "like": like,
            "top": top,
            "by": by,
            "score": score,
            "image": image,
            "label": label,
            "level": level,
            "min_area": min_area,
        }
        json_path, png_path = write_results(ws, key, hits, output, settings)
        out.print(f"results in {json_path}" + (f" and {png_path}" if hits else ""))


@app.command("index")
def index_command(
    workspace: Workspace_,
    index_type: Annotated[str, typer.Option("--type", help="IVF_PQ, IVF_HNSW_SQ or IVF_HNSW_PQ.")] = "IVF_PQ",
    partitions: Annotated[
        Optional[int], typer.Option(help="IVF partitions (default: one per 4096 rows).", callback=POSITIVE)
    ] = None,
) -> None:
    """Build the vector index (cosine) that `search` uses on large collections."""
    from semlat.workspace import AUTO_INDEX_ROWS, IndexSettings, Workspace, build_index

    record = build_index(Workspace.open(workspace), IndexSettings(index_type, partitions))
    out.print(f"{record['index_type']} index over {record['rows']} embeddings in {record['build_seconds']:.1f} s")
    if record["rows"] < AUTO_INDEX_ROWS:
        out.print(f"note: below {AUTO_INDEX_ROWS} rows searches stay exact and do not use it")
