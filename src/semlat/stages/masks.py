"""The masks stage: propose regions for every image of a folder, one committed image at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semlat.imageio import list_images, load_rgb
from semlat.ingest import scan_images
from semlat.progress import track
from semlat.regions import cache as cache_files
from semlat.regions.base import default_backend, is_collection_proposer, make_proposer
from semlat.workspace import Workspace, regions_stage

__all__ = ["default_backend", "propose_regions"]


def propose_regions(
    ws: Workspace, images_dir: str | Path, *, backend: str = "classical", region_set: str | None = None, **params: Any
) -> Workspace:
    """Propose regions for every image in ``images_dir`` into ``workspace``; resumes a killed run.

    Everything that can fail on bad input (unknown settings, a missing checkpoint, an unreadable
    image) fails before the workspace is created or touched.

    Args:
        workspace: workspace directory (created if missing).
        images_dir: folder of photos.
        backend: region backend name (see `semlat.regions.base.PROPOSERS`).
        region_set: name of the region set to write (default: the backend name).
        **params: backend settings (for SAM backends ``mode="clustered"|"automatic"`` and the
            settings of `semlat.regions.clustered.ClusteredProposer` or
            `semlat.regions.automatic.AutomaticProposer`).
    """
    proposer = make_proposer(backend, **params)
    scanned = scan_images(list_images(Path(images_dir)))
    prepare = getattr(proposer, "prepare", None)
    if callable(prepare):  # e.g. load the model: a bad checkpoint fails before the workspace is touched
        prepare()
    name = region_set or backend
    ws.claim_config(
        "region_sets",
        name,
        {"backend": backend, "params": proposer.config()},
        hint="pass --region-set with a new name to keep both",
    )
    records = ws.add_images(scanned)
    done = ws.done_images(regions_stage(name))
    if is_collection_proposer(proposer):
        cache_dir = cache_files.region_cache_dir(ws.root, name)
        todo = proposer.plan(records, done, cache_dir)
        for record in track(todo, f"regions ({backend})"):
            regions, descriptors = proposer.propose_record(record, cache_dir)
            if descriptors is not None:  # first, so committed regions always have theirs
                cache_files.save_npy(cache_files.descriptors_path(cache_dir, record.image_id), descriptors)
            ws.write_regions(name, record.image_id, regions)
        proposer.finish(ws, name, records, cache_dir)
    else:
        for record in track([r for r in records if r.image_id not in done], f"regions ({backend})"):
            ws.write_regions(name, record.image_id, proposer.propose(load_rgb(Path(record.path))))
    ws.compact()
    return ws
