"""`semlat masks`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Backend, Colmap, ImagesSubdir, MaxPixels, Ray, SceneDir, Workspace_, settings_option
from semlat.imageio import MAX_PIXELS
from semlat.regions.registry import options, resolve_mode

MODE_HELP = (
    "SAM backends: automatic (default: a grid of point prompts through SAM's filters with LangSplat's levels, see semlat.regions.generator; labelled across views after) or clustered (the original's algorithm, faster on a CPU)."
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
                option.name,
                Optional[option.type],
                option.help,
                default=None,
                shown_default=option.default,
                flag=option.flag,
                allowed=option.allowed,
            )
        )
    command.__signature__ = signature.replace(parameters=params)
    return command


@app.command()
@settings_options
def masks(
    scene: SceneDir,
    workspace: Workspace_,
    images_subdir: ImagesSubdir = None,
    colmap: Colmap = None,
    backend: Backend = None,
    region_set: Annotated[Optional[str], typer.Option(help="Name of the region set (default: the backend).")] = None,
    mode: Annotated[Optional[str], typer.Option(help=MODE_HELP)] = None,
    max_pixels: MaxPixels = MAX_PIXELS,
    ray: Ray = None,
    **settings: Any,
) -> None:
    """Propose regions in every image (of a photo folder, COLMAP or nerfstudio scene; cameras and tracks are kept)."""
    from semlat.formats.scenes import read_scene
    from semlat.runners import make_runner
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    found = read_scene(scene, images_subdir=images_subdir, colmap=colmap)
    runner = make_runner(ray)
    ws = Workspace.open_or_create(workspace)
    result = propose_regions(
        ws,
        found.image_paths,
        scene=found,
        backend=backend,
        region_set=region_set,
        mode=mode,
        max_pixels=max_pixels,
        runner=runner,
        **settings,
    )
    out.print(f"regions of {result.n_images} images in {workspace}")
