"""The original research code's files in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Output, Workspace_


@app.command("import-seed")
def import_seed(
    images: Annotated[Path, typer.Option(help="Folder of the photos the files were made from.")],
    masks: Annotated[Path, typer.Option(help="refined_mask.npz")],
    labels: Annotated[Path, typer.Option(help="refined_label.npz")],
    workspace: Workspace_,
    features: Annotated[Optional[Path], typer.Option(help="semantic_features.npz")] = None,
) -> None:
    """Import the original research code's refined_mask/refined_label (and semantic_features) files."""
    from semlat.formats.original import import_seed as run_import

    ws = run_import(workspace, images, masks, labels, features)
    out.print(f"imported {len(ws.images())} images into {workspace}")


@app.command("export-seed")
def export_seed(workspace: Workspace_, output: Output) -> None:
    """Write semantic_features.npz (row 0 the whole image, rows 1..N the regions) for existing tools."""
    from semlat.formats.original import export_seed as run_export

    out.print(f"wrote {run_export(workspace, output)}")
