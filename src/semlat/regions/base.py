"""The region proposer protocols (the backends are registered in `semlat.regions.registry`).

Two kinds of proposers:

* `RegionProposer`: regions of one image at a time (``classical``, SAM's automatic mode).
* `CollectionProposer`: needs the whole collection first, e.g. to give regions cross-view labels
  (SAM's clustered mode). The masks stage calls ``plan`` once (fit whatever spans the collection;
  returns the images still to write), then ``propose_record`` per image (each image's regions are
  committed on their own, so a killed run resumes), then ``finish``, then labels the region set
  across views if ``label_request`` asks for it.

A proposer that also has ``plan`` is driven as a collection proposer (SAM's automatic mode is
both: ``propose`` for one image, the collection path to add descriptors and cross-view labels).
Every proposer is built from one frozen settings dataclass (its ``settings``), the single source
of its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from semlat.types import ImageRecord, Region


@dataclass(frozen=True)
class LabelRequest:
    """Cross-view labels the masks stage gives a region set once every image is written.

    The labels come from `semlat label --method METHOD --descriptor sam` (by default ``auto``:
    the scene's SfM tracks when the workspace holds them, else feature matches plus the
    regions' stored SAM descriptors); the SAM named here encodes any image whose descriptors
    are missing.

    Args:
        n_labels: number of labels of the ``kmeans`` method.
        backend: "mobile-sam" or "sam".
        sam_type: SAM size (None: the backend's default).
        checkpoint: weights file (None: the bundled MobileSAM weights).
        device: torch device (None: cuda if available).
        seed: seed of the label clustering.
        method: the labelling method (`semlat.stages.label.METHODS`).
    """

    n_labels: int
    backend: str
    sam_type: str | None
    checkpoint: str | None
    device: str | None
    seed: int
    method: str = "auto"


class RegionProposer(Protocol):
    """Proposes regions in one image. ``config()`` is recorded so re-runs can tell settings apart."""

    name: str
    settings: Any

    def config(self) -> dict[str, Any]: ...

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        """Regions of an (H, W, 3) uint8 image, masks at full resolution, ids 0..N-1."""
        ...


@runtime_checkable
class CollectionProposer(Protocol):
    """Proposes regions for a whole collection, e.g. with labels that agree across views."""

    name: str
    settings: Any
    records_independent: bool
    """Whether `propose_record` needs nothing that `plan` fitted over the collection (so another
    process with a proposer of the same settings can run it: `semlat.runners`)."""

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

    def finish(self, cache_dir: Path) -> None:
        """Called once every image is written (e.g. to clean caches)."""
        ...

    def label_request(self) -> LabelRequest | None:
        """The cross-view labelling to run after the collection is written, if any."""
        ...


def is_collection_proposer(proposer: Any) -> bool:
    return callable(getattr(proposer, "plan", None)) and callable(getattr(proposer, "propose_record", None))
