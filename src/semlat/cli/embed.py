"""`semlat embed`."""

from __future__ import annotations

from typing import Annotated

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Device, FeatureSet, Model, Pretrained, RegionSet, Strategy, Workspace_


@app.command()
def embed(
    workspace: Workspace_,
    model: Model = "ViT-B-16",
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    region_set: RegionSet = None,
    feature_set: FeatureSet = "raw",
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Views per forward pass.")] = 64,
) -> None:
    """Embed every image and every region with CLIP."""
    from semlat.encoders.openclip import model_spec
    from semlat.stages.embed import embed_regions

    key = embed_regions(workspace, model_spec(model, pretrained), strategy, region_set, feature_set, device, batch_size)
    out.print(f"features {key} in {workspace}")
