"""`semlat embed`."""

from __future__ import annotations

from typing import Annotated

import typer

from semlat.cli.app import app, out
from semlat.cli.options import POSITIVE, Device, Model, OutFeatures, Pretrained, Ray, RegionSet, Strategy, Workspace_


@app.command()
def embed(
    workspace: Workspace_,
    model: Model = None,
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    region_set: RegionSet = None,
    features: OutFeatures = "raw",
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Views per forward pass.", callback=POSITIVE)] = 64,
    ray: Ray = None,
) -> None:
    """Embed every image and every region with CLIP."""
    from semlat.encoders import model_spec
    from semlat.runners import make_runner
    from semlat.stages.embed import embed_regions
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    spec = model_spec(model, pretrained)
    key = embed_regions(
        ws,
        model=spec,
        strategy=strategy,
        region_set=region_set,
        feature_set=features,
        device=device,
        batch_size=batch_size,
        runner=make_runner(ray),
    )
    out.print(f"features {key} in {workspace}")
