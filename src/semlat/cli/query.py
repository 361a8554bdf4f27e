"""`semlat query` and `semlat run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import (
    Backend,
    Device,
    Features,
    Fusion,
    Model,
    Output,
    Pretrained,
    Prompts,
    PromptsFile,
    RegionSet,
    Score,
    Strategy,
    TextModel,
    TextPretrained,
    Workspace_,
)


@app.command()
def query(
    workspace: Workspace_,
    output: Output,
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    image: Annotated[Optional[list[str]], typer.Option(help="Image file name (repeatable; default: all).")] = None,
    fusion: Fusion = "sum",
    score: Score = "softmax",
    save_maps: Annotated[bool, typer.Option(help="Also save the raw maps as maps.npy.")] = False,
    level: Annotated[
        Optional[list[int]],
        typer.Option(help="Only regions of this level (repeatable; masks --levels: 0 whole, 1 part, 2 sub-part)."),
    ] = None,
    region_set: RegionSet = None,
    features: Features = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """Answer text prompts as heatmaps and segmentations."""
    from semlat.encoders.openclip import model_spec
    from semlat.scoring.prompts import parse_prompts
    from semlat.stages.query.stage import query_to_files
    from semlat.workspace import Workspace

    prompt_list = parse_prompts(prompts, prompts_file)
    key = Workspace.open(workspace).feature_key(region_set, features)
    text_model = model_spec(model, pretrained) if model else None
    query_to_files(workspace, prompt_list, output, key, image, fusion, score, save_maps, text_model, device, level)
    out.print(f"query results in {output}")


@app.command()
def run(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    output: Output = Path("semlat-out"),
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    backend: Backend = None,
    model: Model = "ViT-B-16",
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    fusion: Fusion = "sum",
    score: Score = "softmax",
    device: Device = "auto",
) -> None:
    """masks → embed → query in one go (each step resumes)."""
    from semlat.pipeline import run_pipeline
    from semlat.scoring.prompts import parse_prompts

    prompt_list = parse_prompts(prompts, prompts_file)
    from semlat.encoders.openclip import model_spec
    from semlat.regions.bundled import default_backend

    spec = model_spec(model, pretrained)
    result = run_pipeline(
        images_dir, workspace, prompt_list, output, backend or default_backend(), spec, strategy, fusion, score, device
    )
    out.print(f"query results in {result}")
