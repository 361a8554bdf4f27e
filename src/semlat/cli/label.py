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
    labels: Annotated[int, typer.Option("--labels", help="Number of cross-view labels G.", callback=POSITIVE)] = 15,
    descriptor: Annotated[str, typer.Option(help="auto (CLIP features when embedded, else SAM), clip, sam.")] = "auto",
    features: Features = None,
    checkpoint: Annotated[
        Optional[Path], typer.Option(help="MobileSAM weights for SAM descriptors (default: the bundled ones).")
    ] = None,
    device: Device = "auto",
) -> None:
    """Cross-view labels for any backend's regions: clusters region descriptors over all images."""
    from semlat.stages.label import label_regions
    from semlat.workspace import Workspace

    result = label_regions(
        Workspace.open(workspace),
        region_set,
        n_labels=labels,
        descriptor=descriptor,
        feature_set=features,
        checkpoint=checkpoint,
        device=device,
    )
    out.print(
        f"{result.n_labels} labels over {result.n_regions} regions of {result.n_images} images ({result.descriptor} descriptors)"
    )
