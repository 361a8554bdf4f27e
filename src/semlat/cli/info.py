"""`semlat info`."""

from __future__ import annotations

from typing import Annotated

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Workspace_


@app.command()
def info(
    workspace: Workspace_,
    check: Annotated[
        bool, typer.Option("--check", help="Read every table in full and check it against the manifest (slower).")
    ] = False,
) -> None:
    """What a workspace holds (opening it checks its manifest and tables; --check reads everything)."""
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    out.print(f"{len(ws.images())} images; region sets: {', '.join(ws.region_sets()) or 'none'}")
    for key in ws.feature_keys():
        out.print(f"features: {key} ({ws.manifest.feature_sets[str(key)]})")
    scene = ws.manifest.scene
    if scene:
        out.print(
            f"scene: {scene['kind']} {scene['source']} ({scene['cameras']} cameras, {scene['observations']} SfM observations)",
            soft_wrap=True,
            markup=False,
        )
    if check:
        counts = ws.check()
        out.print(
            f"check: every table read in full, all consistent ({', '.join(f'{n} {c}' for n, c in sorted(counts.items()))} rows)"
        )
