"""`semlat label`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import POSITIVE, Device, Features, RegionSet, Workspace_


@app.command()
def label(
    workspace: Workspace_,
    region_set: RegionSet = None,
    method: Annotated[
        str,
        typer.Option(
            help="auto (SfM tracks when the workspace holds a COLMAP model, else feature matches plus appearance), "
            "tracks, matches, appearance, kmeans (the original: KMeans into --labels clusters)."
        ),
    ] = "auto",
    colmap: Annotated[
        Optional[Path], typer.Option(help="COLMAP model folder (e.g. sparse/0) to read into the workspace first.")
    ] = None,
    labels: Annotated[int, typer.Option("--labels", help="Number of labels G of --method kmeans.", callback=POSITIVE)] = 15,
    descriptor: Annotated[str, typer.Option(help="auto (CLIP features when embedded, else SAM), clip, sam.")] = "auto",
    features: Features = None,
    checkpoint: Annotated[
        Optional[Path], typer.Option(help="MobileSAM weights for SAM descriptors (default: the bundled ones).")
    ] = None,
    device: Device = "auto",
) -> None:
    """Cross-view labels (instances) for any backend's regions, from SfM tracks, matches or appearance."""
    from semlat.stages.label import label_regions
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    if colmap is not None:  # a broken model fails here, before any label is written
        from semlat.formats.scenes import read_scene

        scene = read_scene(Path(ws.images()[0].path).parent if ws.images() else colmap, colmap=colmap)
        ws.write_scene(scene.cameras, scene.tracks)
    result = label_regions(
        ws,
        region_set,
        method=method,
        n_labels=labels,
        descriptor=descriptor,
        feature_set=features,
        checkpoint=checkpoint,
        device=device,
    )
    used = "" if result.descriptor == "none" else f", {result.descriptor} descriptors"
    out.print(f"{result.n_labels} labels over {result.n_regions} regions of {result.n_images} images ({result.method}{used})")
