"""`semlat masks`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Backend, Workspace_, settings_option
from semlat.regions.registry import options, resolve_mode

MODE_HELP = (
    "SAM backends: clustered (cross-view labels, the original) or automatic (a grid of point prompts through SAM's filters, see semlat.regions.generator; labelled across views after)."
    f" \\[default: {resolve_mode('mobile-sam')[0]}]"
)


def settings_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` (which takes ``**settings``) one option per settings field of the registered backends.

    Every option defaults to None (not given), so the settings dataclasses' own defaults apply;
    its help text and shown default come from the dataclasses (`semlat.regions.registry.options`).
    """
    signature = inspect.signature(command, eval_str=True)
    params = [param for param in signature.parameters.values() if param.kind is not param.VAR_KEYWORD]
    for option in options():
        params.append(
            settings_option(
                option.name, Optional[option.type], option.help, default=None, shown_default=option.default, flag=option.flag
            )
        )
    command.__signature__ = signature.replace(parameters=params)
    return command


@app.command()
@settings_options
def masks(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    backend: Backend = None,
    region_set: Annotated[Optional[str], typer.Option(help="Name of the region set (default: the backend).")] = None,
    mode: Annotated[Optional[str], typer.Option(help=MODE_HELP)] = None,
    **settings: Any,
) -> None:
    """Propose regions in every image."""
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    ws = Workspace.open_or_create(workspace)
    result = propose_regions(ws, images_dir, backend=backend, region_set=region_set, mode=mode, **settings)
    out.print(f"regions of {result.n_images} images in {workspace}")
