"""Options shared by several commands: one name and one help text each."""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Optional

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
SceneDir = Annotated[
    Path,
    typer.Argument(
        help="Folder of photos of one scene, or a COLMAP (images/ + sparse/0/) or nerfstudio (transforms.json) scene."
    ),
]
ImagesSubdir = Annotated[
    Optional[str], typer.Option(help="Images folder inside a COLMAP or nerfstudio scene, e.g. images_4 (default: images).")
]
Colmap = Annotated[Optional[Path], typer.Option(help="COLMAP model folder to use instead of the scene's sparse/0.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
TextModel = Annotated[Optional[str], typer.Option(help="Text model, only for imported features.")]
TextPretrained = Annotated[Optional[str], typer.Option(help="Its weights, only for imported features.")]
Level = Annotated[
    Optional[list[int]],
    typer.Option("--level", help="Only regions of this level (repeatable; SAM levels: 0 whole, 1 part, 2 sub-part)."),
]
Features = Annotated[
    Optional[str], typer.Option("--features", help="Feature set to use, e.g. raw or smoothed (default: raw, or the only one).")
]


def open_features(workspace: Path, region_set: str | None, features: str | None):
    """The open workspace and the feature key ``--region-set``/``--features`` pick (`Workspace.feature_key`)."""
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    return ws, ws.feature_key(region_set, features)


def settings_option(
    name: str,
    annotation: Any,
    help: str,
    *,
    default: Any = inspect.Parameter.empty,
    shown_default: str | None = None,
    flag: str | None = None,
) -> inspect.Parameter:
    """A settings field as a keyword-only Typer option: the one way commands are built from settings dataclasses.

    Args:
        name: the field (the keyword the command receives).
        annotation: its type (``X | None`` is read as ``Optional[X]``); a bool is a ``--x/--no-x`` switch.
        help: the field's text (`semlat.settings.field_docs`).
        default: the option's default (none: a required option).
        shown_default: text shown as the default instead of ``default`` (for options that default to
            None, "not given", so that the settings dataclass's own default applies).
        flag: the option's name without dashes (default: ``name`` with dashes).
    """
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        annotation = Optional[next(arg for arg in args if arg is not type(None))]
    flag = flag or name.replace("_", "-")
    plain = next((arg for arg in typing.get_args(annotation) if arg is not type(None)), annotation)
    declaration = f"--{flag}/--no-{flag}" if plain is bool else f"--{flag}"
    if shown_default is not None:
        help = f"{help} \\[default: {shown_default}]"  # escaped: help texts are rich markup
    info = typer.Option(declaration, help=help, show_default=shown_default is None)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info])
