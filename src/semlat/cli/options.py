"""Options shared by several commands: one name and one help text each."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semlat import settings
from semlat.errors import SemlatError
from semlat.settings import MAX_SEED, Range

MAX_SEEDS = 1000
"""Most scenes one ``--seeds`` may name: each is rendered, so a typo like 0..1000000000 is refused, not run."""
MAX_VIEWS = 1000
"""Most views of one rendered scene."""
MAX_SCENES = 100_000
"""Most training scenes (each is rendered into memory)."""
MAX_STEPS = 10_000_000
"""Most optimiser steps of one training run."""
MAX_MINUTES = 24 * 60.0
"""Longest wall-clock budget of one training run, in minutes."""


def bounded(low: float | None, high: float | None, *, above: bool = False) -> Callable[[Any], Any]:
    """The range check of a numeric option: a Typer callback refusing NaN, infinities and values outside the range.

    Args:
        low: the smallest value allowed (None: no lower bound).
        high: the largest value allowed (None: no upper bound).
        above: ``low`` itself is refused (the range is open at ``low``).
    """
    return range_callback(Range(low, high, low_open=above))


def range_callback(allowed: Range) -> Callable[[Any], Any]:
    """A `semlat.settings.Range` as a Typer callback: the one way an option's value is range-checked.

    A refused value is a usage error: one line naming the option, the value and the range, exit
    code 2 (`semlat.cli.app.main`). Lists (repeatable options) are checked item by item.
    """

    def check(value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            problem = None if item is None or isinstance(item, bool) else allowed.problem(item)
            if problem:
                raise typer.BadParameter(problem)
        return value

    return check


SEED = range_callback(settings.SEED)
VIEWS = bounded(1, MAX_VIEWS)
SCENES = bounded(1, MAX_SCENES)
STEPS = bounded(1, MAX_STEPS)
MINUTES = bounded(0, MAX_MINUTES, above=True)
POSITIVE = range_callback(settings.POSITIVE)
NON_NEGATIVE = range_callback(settings.NON_NEGATIVE)
FRACTION = range_callback(settings.FRACTION)
COSINE = bounded(-1, 1)
FINITE = bounded(None, None)


def parse_seeds(text: str) -> list[int]:
    """'0..3' (inclusive), '1,4,9' or a mix of both; at most `MAX_SEEDS` seeds, each in 0 .. `MAX_SEED`."""
    parts: list[tuple[int, int]] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("..")
            parts.append((int(low), int(high) if high else int(low)))
    except ValueError:
        raise SemlatError(f"cannot read seeds {text!r}: write them as 0..3 or 1,4,9") from None
    if not parts:
        raise SemlatError("no seeds given: pass --seeds 0..3")
    for low, high in parts:
        if not 0 <= low <= high <= MAX_SEED:
            raise SemlatError(f"seeds {low}..{high} are not a range within 0..{MAX_SEED}: write them as 0..3 or 1,4,9")
    count = sum(high - low + 1 for low, high in parts)
    if count > MAX_SEEDS:
        raise SemlatError(f"--seeds {text!r} names {count} scenes, more than {MAX_SEEDS}: pass fewer seeds")
    return [seed for low, high in parts for seed in range(low, high + 1)]


def folder_path(text: str) -> Path:
    """A folder option's value as a path; an empty one is refused (``Path("")`` would silently be the current folder)."""
    if not str(text).strip():
        raise typer.BadParameter("an empty path: pass a folder")
    return Path(text)


Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory (one per scene).", parser=folder_path)]
RegionSet = Annotated[Optional[str], typer.Option(help="Region set to use (default: the only one).")]
Device = Annotated[str, typer.Option(help="auto (cuda if available), cpu, cuda, cuda:N.")]
Model = Annotated[Optional[str], typer.Option(help="OpenCLIP architecture name \\[default: ViT-B-16].")]
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
Normalize = Annotated[
    str, typer.Option(help="Heatmap colours: prompt (each prompt to its own range) or joint (one range for all, the original's).")
]
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
Ray = Annotated[
    Optional[str],
    typer.Option(
        help="Run the per-image work on Ray: 'local' (a Ray instance on this machine), 'auto' (a running cluster) or ray://HOST:PORT; "
        'the workspace must be on a path every node reaches. Needs pip install -e ".[ray]".'
    ),
]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.", parser=folder_path)]
TextModel = Annotated[Optional[str], typer.Option(help="Text model, only for imported features.")]
TextPretrained = Annotated[Optional[str], typer.Option(help="Its weights, only for imported features.")]
Level = Annotated[
    Optional[list[int]],
    typer.Option("--level", help="Only regions of this level (repeatable; SAM levels: 0 whole, 1 part, 2 sub-part)."),
]
MaxPixels = Annotated[
    int,
    typer.Option(
        help="Largest image (width x height) to read; a larger one is refused as a possible decompression bomb.",
        callback=POSITIVE,
    ),
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
    allowed: Range | None = None,
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
        allowed: the field's `Range` (``metadata["range"]``), checked as the option is parsed.
    """
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        annotation = Optional[next(arg for arg in args if arg is not type(None))]
    flag = flag or name.replace("_", "-")
    plain = next((arg for arg in typing.get_args(annotation) if arg is not type(None)), annotation)
    declaration = f"--{flag}/--no-{flag}" if plain is bool else f"--{flag}"
    if shown_default is not None:
        help = f"{help} \\[default: {shown_default}]"  # escaped: help texts are rich markup
    callback = range_callback(allowed) if allowed is not None else None
    info = typer.Option(declaration, help=help, show_default=shown_default is None, callback=callback)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info])
