"""`semlat query` and `semlat run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import (
    Backend,
    Colmap,
    Device,
    Features,
    Fusion,
    ImagesSubdir,
    Level,
    MaxPixels,
    Model,
    Normalize,
    Output,
    Pretrained,
    Prompts,
    PromptsFile,
    RegionSet,
    SceneDir,
    Score,
    Strategy,
    TextModel,
    TextPretrained,
    Workspace_,
    open_features,
)
from semlat.imageio import MAX_PIXELS


@app.command()
def query(
    workspace: Workspace_,
    output: Output,
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    image: Annotated[Optional[list[str]], typer.Option(help="Image file name (repeatable; default: all).")] = None,
    fusion: Fusion = "sum",
    score: Score = "softmax",
    normalize: Normalize = "prompt",
    save_maps: Annotated[bool, typer.Option(help="Also save the raw maps as maps.npy.")] = False,
    level: Level = None,
    region_set: RegionSet = None,
    features: Features = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """Answer text prompts as heatmaps and segmentations."""
    from semlat.encoders import model_spec
    from semlat.scoring import parse_prompts
    from semlat.stages.query import query_to_files

    prompt_list = parse_prompts(prompts, prompts_file)
    ws, key = open_features(workspace, region_set, features)
    query_to_files(
        ws,
        prompt_list,
        output,
        images=image,
        key=key,
        fusion=fusion,
        score=score,
        levels=level,
        normalize=normalize,
        save_maps=save_maps,
        text_model=model_spec(model, pretrained) if model else None,
        device=device,
    )
    out.print(f"query results in {output}")


@app.command()
def run(
    scene: SceneDir,
    workspace: Workspace_,
    output: Output = Path("semlat-out"),
    images_subdir: ImagesSubdir = None,
    colmap: Colmap = None,
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    backend: Backend = None,
    model: Model = None,
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    fusion: Fusion = "sum",
    score: Score = "softmax",
    device: Device = "auto",
    max_pixels: MaxPixels = MAX_PIXELS,
) -> None:
    """masks → embed → query in one go (each step resumes)."""
    from semlat.encoders import model_spec
    from semlat.pipeline import run_pipeline
    from semlat.scoring import parse_prompts
    from semlat.workspace import Workspace

    prompt_list = parse_prompts(prompts, prompts_file)
    spec = model_spec(model, pretrained)
    result = run_pipeline(
        Workspace.open_or_create(workspace),
        scene,
        prompt_list,
        output,
        images_subdir=images_subdir,
        colmap=colmap,
        backend=backend,
        model=spec,
        strategy=strategy,
        fusion=fusion,
        score=score,
        device=device,
        max_pixels=max_pixels,
    )
    out.print(f"query results in {result}")
