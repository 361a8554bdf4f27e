"""The masks stage: propose regions for every image of a folder, one committed image at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semlat.imageio import list_images, load_rgb
from semlat.ingest import scan_images
from semlat.progress import track
from semlat.regions.base import make_proposer
from semlat.workspace import Workspace, regions_stage


def propose_regions(
    workspace: str | Path, images_dir: str | Path, backend: str = "classical", region_set: str | None = None, **params: Any
) -> Workspace:
    """Propose regions for every image in ``images_dir`` into ``workspace``; resumes a killed run.

    Args:
        workspace: workspace directory (created if missing).
        images_dir: folder of photos.
        backend: region backend name (see `semlat.regions.base.PROPOSERS`).
        region_set: name of the region set to write (default: the backend name).
        **params: backend settings.
    """
    proposer = make_proposer(backend, **params)
    scanned = scan_images(list_images(Path(images_dir)))
    ws = Workspace.open_or_create(workspace)
    name = region_set or backend
    ws.claim_config(
        "region_sets", name, {"backend": backend, "params": proposer.config()},
        hint=f"pass --region-set with a new name to keep both",
    )
    records = ws.add_images(scanned)
    done = ws.done_images(regions_stage(name))
    for record in track([r for r in records if r.image_id not in done], f"regions ({backend})"):
        ws.write_regions(name, record.image_id, proposer.propose(load_rgb(Path(record.path))))
    ws.compact()
    return ws
