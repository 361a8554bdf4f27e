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
    Level,
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
    open_features,
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
        save_maps=save_maps,
        text_model=model_spec(model, pretrained) if model else None,
        device=device,
    )
    out.print(f"query results in {output}")


@app.command()
def run(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    output: Output = Path("semlat-out"),
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    backend: Backend = None,
    model: Model = None,
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    fusion: Fusion = "sum",
    score: Score = "softmax",
    device: Device = "auto",
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
        images_dir,
        prompt_list,
        output,
        backend=backend,
        model=spec,
        strategy=strategy,
        fusion=fusion,
        score=score,
        device=device,
    )
    out.print(f"query results in {result}")
