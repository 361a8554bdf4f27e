"""The region proposer interface and its registry: adding a backend is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.types import Region


class RegionProposer(Protocol):
    """Proposes regions in one image. ``config()`` is recorded so re-runs can tell settings apart."""

    name: str

    def config(self) -> dict[str, Any]: ...

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        """Regions of an (H, W, 3) uint8 image, masks at full resolution, ids 0..N-1."""
        ...


def _classical(**params: Any) -> RegionProposer:
    from semlat.regions.classical import ClassicalProposer

    return ClassicalProposer(**params)


PROPOSERS: dict[str, Callable[..., RegionProposer]] = {
    "classical": _classical,
}


def make_proposer(backend: str, **params: Any) -> RegionProposer:
    try:
        factory = PROPOSERS[backend]
    except KeyError:
        raise SemlatError(f"unknown region backend {backend!r}: choose one of {', '.join(sorted(PROPOSERS))}") from None
    return factory(**params)
