"""Options shared by several commands: one name and one help text each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory (one per scene).")]
RegionSet = Annotated[Optional[str], typer.Option(help="Region set to use (default: the only one).")]
Device = Annotated[str, typer.Option(help="auto (cuda if available), cpu, cuda, cuda:N.")]
Model = Annotated[Optional[str], typer.Option(help="OpenCLIP architecture name [default: ViT-B-16].")]
Pretrained = Annotated[
    Optional[str],
    typer.Option(
        help="OpenCLIP pretrained tag or a local checkpoint file (default: laion2b_s34b_b88k; the shipped weights for semlat-toy)."
    ),
]
Strategy = Annotated[str, typer.Option(help="Region views: masked-crop, masked-full (the original), crop.")]
OutFeatures = Annotated[str, typer.Option("--features", help="Feature set to write the vectors to.")]
Prompts = Annotated[Optional[str], typer.Option(help="Comma-separated prompts, e.g. 'ceiling,ground,toilet paper'.")]
PromptsFile = Annotated[Optional[Path], typer.Option(help="File of comma- or line-separated prompts.")]
Fusion = Annotated[str, typer.Option(help="sum (the original), conceptfusion, region.")]
Score = Annotated[str, typer.Option(help="softmax (the original), relevancy (LERF), cosine.")]
MaxRegions = Annotated[int, typer.Option(help="Keep at most this many regions per image, largest first (0: all).")]
MinArea = Annotated[float, typer.Option(help="Smallest region, as a fraction of the image area.")]
Backend = Annotated[Optional[str], typer.Option(help="Region proposer: mobile-sam (the default when installed), sam, classical.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
TextModel = Annotated[Optional[str], typer.Option(help="Text model, only for imported features.")]
TextPretrained = Annotated[Optional[str], typer.Option(help="Its weights, only for imported features.")]
Features = Annotated[
    Optional[str], typer.Option("--features", help="Feature set to use, e.g. raw or smoothed (default: raw, or the only one).")
]


def open_features(workspace: Path, region_set: str | None, features: str | None):
    """The open workspace and the feature key ``--region-set``/``--features`` pick (`Workspace.feature_key`)."""
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    return ws, ws.feature_key(region_set, features)
