"""The masks stage: propose regions for every image of a folder or scene, one committed image at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.imageio import MAX_PIXELS, list_images, load_rgb
from semlat.ingest import scan_images
from semlat.progress import track
from semlat.regions import cache as cache_files
from semlat.regions.base import is_collection_proposer
from semlat.regions.bundled import default_backend
from semlat.regions.registry import make_proposer
from semlat.runners import Runner
from semlat.stages.label import LabelResult, label_regions
from semlat.types import ImageRecord, Region
from semlat.workspace import SceneSource, Workspace, regions_stage

__all__ = ["default_backend", "propose_regions"]


@dataclass(frozen=True)
class MasksResult:
    """What `propose_regions` did.

    Args:
        region_set: the region set written.
        backend: the backend that proposed it.
        settings: the backend's settings dataclass it ran with.
        n_images: images of the folder (all of them have their regions now).
        n_written: images whose regions this run wrote (0 when an earlier run had done them all).
        labels: the cross-view labelling run after the regions (SAM's automatic mode), else None.
    """

    region_set: str
    backend: str
    settings: Any
    n_images: int
    n_written: int
    labels: LabelResult | None = None


def propose_regions(
    ws: Workspace,
    images: str | Path | Sequence[str | Path],
    *,
    scene: SceneSource | None = None,
    backend: str | None = None,
    region_set: str | None = None,
    mode: str | None = None,
    max_pixels: int = MAX_PIXELS,
    runner: Runner | None = None,
    **settings: Any,
) -> MasksResult:
    """Propose regions for every image in ``images`` into ``ws``; resumes a killed run.

    Everything that can fail on bad input (unknown settings, a missing checkpoint, an unreadable
    image) fails before anything is written, so a new workspace is not created.

    Args:
        ws: an open workspace (`Workspace.open_or_create` writes nothing before this stage does).
        images: a folder of photos, or the image files themselves (a scene's, in its order).
        scene: the scene the images come from (`semlat.formats.scenes.read_scene`); its cameras
            and SfM tracks are stored with the images (`Workspace.write_scene`).
        backend: region backend (see `semlat.regions.registry.BACKENDS`; default:
            `semlat.regions.bundled.default_backend`).
        region_set: name of the region set to write (default: the backend name).
        mode: the backend's mode, for SAM backends "automatic" (default) or "clustered".
        max_pixels: largest image (width × height) accepted (`semlat.imageio.MAX_PIXELS`).
        runner: where the per-image work runs (`semlat.runners.RayRunner`); None: here. Every
            image is committed here either way. Modes that fit over all images (clustered) refuse one.
        **settings: fields of the mode's settings dataclass (`ClassicalSettings`,
            `ClusteredSettings`, `AutomaticSettings`), over its defaults; None means not given.
    """
    backend = backend or default_backend()
    proposer = make_proposer(backend, mode, **settings)
    recorded = ws.manifest.section("region_sets").get(region_set or backend)
    resume = getattr(proposer, "resume", None)
    if recorded is not None and callable(resume):  # what a proposer resolves at run time keeps its recorded value
        resume(recorded.get("params", {}))
    if runner is not None and not getattr(proposer, "records_independent", True):
        raise SemlatError(
            f"--ray runs images apart, and {backend}'s {mode or 'default'} mode fits over all images: run it without --ray"
        )
    paths = list_images(Path(images)) if isinstance(images, str | Path) else [Path(path) for path in images]
    scanned = scan_images(paths, max_pixels)
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
    if scene is not None and (scene.cameras is not None or scene.tracks is not None):
        ws.write_scene(scene.cameras, scene.tracks, kind=scene.kind, source=str(Path(scene.root).resolve()))
    done = ws.done_images(regions_stage(name))
    labels = None
    collection = is_collection_proposer(proposer)
    cache_dir = cache_files.region_cache_dir(ws.root, name)
    todo = proposer.plan(records, done, cache_dir) if collection else [r for r in records if r.image_id not in done]
    if runner is None:
        found = ((record, propose_record(proposer, record, cache_dir)) for record in todo)
    else:  # each actor builds the proposer from its settings (`_ProposeWorker`)
        found = runner.map(_ProposeWorker, (backend, mode, dataclasses.asdict(proposer.settings), cache_dir), todo)
    with closing(found):  # a stop between commits lets a Ray run's actors go at once
        for record, (regions, descriptors) in track(found, f"regions ({backend})", total=len(todo)):
            if descriptors is not None:  # first, so committed regions always have theirs
                cache_files.save_npy(cache_files.descriptors_path(cache_dir, record.image_id), descriptors)
            ws.write_regions(name, record.image_id, regions)
    if collection:
        proposer.finish(cache_dir)
        request = proposer.label_request()
        if request is not None:
            labels = label_regions(
                ws,
                region_set=name,
                method=request.method,
                n_labels=request.n_labels,
                descriptor="sam",
                backend=request.backend,
                sam_type=request.sam_type,
                checkpoint=request.checkpoint,
                device=request.device,
                seed=request.seed,
            )
    ws.compact()
    return MasksResult(name, backend, proposer.settings, len(records), len(todo), labels)


def propose_record(proposer: Any, record: ImageRecord, cache_dir: Path) -> tuple[list[Region], npt.NDArray | None]:
    """One image's regions (and SAM descriptors, for the proposers that keep them)."""
    if is_collection_proposer(proposer):
        return proposer.propose_record(record, cache_dir)
    return proposer.propose(load_rgb(Path(record.path))), None


class _ProposeWorker:
    """`propose_record` in a Ray actor: the proposer is built (and its model loaded) once per actor."""

    def __init__(self, backend: str, mode: str | None, settings: dict[str, Any], cache_dir: Path) -> None:
        self.proposer = make_proposer(backend, mode, **settings)
        prepare = getattr(self.proposer, "prepare", None)
        if callable(prepare):
            prepare()
        self.cache_dir = cache_dir

    def __call__(self, record: ImageRecord) -> tuple[list[Region], npt.NDArray | None]:
        return propose_record(self.proposer, record, self.cache_dir)
