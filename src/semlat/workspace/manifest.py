"""The workspace manifest: a small JSON file describing what the workspace holds and how it was made."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from semlat.files import write_json

write_json_atomic = write_json
"""The manifest writer (indent 2, sorted keys): `semlat.files.write_json`, under the name `store` imports."""

FORMAT_VERSION = 1
TRACKED_PACKAGES = ("semlat", "torch", "open_clip_torch", "lancedb", "pycocotools", "numpy", "scikit-image")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def new_manifest() -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "packages": package_versions(),
        "images_dir": None,
        "region_sets": {},
        "models": {},
        "feature_sets": {},
        "embedding_dim": None,
    }
