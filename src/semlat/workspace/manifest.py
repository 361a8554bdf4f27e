"""The workspace manifest (``semlat.json``): what the workspace holds and how each part was made.

Small and human-readable on purpose: the region sets, models and feature sets with the settings
that made them (so a re-run with other settings is refused instead of mixed in), the cross-view
labels and the vector index. Read and written only through `Manifest`.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from semlat.errors import SemlatError
from semlat.files import write_json

FORMAT_VERSION = 1
TRACKED_PACKAGES = ("semlat", "torch", "open_clip_torch", "lancedb", "pycocotools", "numpy", "scikit-image")
SECTIONS = ("region_sets", "models", "feature_sets", "labels")
"""The name → settings sections (`Workspace.claim_config` writes the first three)."""


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Manifest:
    """The parsed ``semlat.json``.

    Attributes:
        format: manifest format version.
        created: when the workspace was created (UTC, ISO 8601).
        packages: versions of the packages that last wrote it.
        region_sets: region set name → {"backend", "params"} (or an importer's record).
        models: model key → `semlat.encoders.ModelSpec.record()`.
        feature_sets: "region_set/model_key/feature_set" → how the vectors were made.
        embedding_dim: the one vector size of the workspace (None before the first embedding).
        labels: region set name → how its cross-view labels were made.
        index: the vector index's settings and build record (None when there is none).
        scene: the scene the cameras and SfM tracks came from (kind, source, counts; None when
            the images were a bare folder), written after them (`Workspace.write_scene`).
    """

    format: int = FORMAT_VERSION
    created: str = field(default_factory=_now)
    packages: dict[str, str] = field(default_factory=package_versions)
    region_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    feature_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    embedding_dim: int | None = None
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: dict[str, Any] | None = None
    scene: dict[str, Any] | None = None

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Parse ``path``, with one clear error for any way the file can be wrong."""
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SemlatError(f"workspace manifest {path} is corrupt ({exc}): restore it or make a new workspace") from exc
        except OSError as exc:
            raise SemlatError(
                f"workspace manifest {path} cannot be read ({exc.strerror}): check the path and its permissions"
            ) from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: Path | str = "semlat.json") -> Manifest:
        def bad(what: str) -> SemlatError:
            return SemlatError(f"workspace manifest {path} is corrupt ({what}): restore it or make a new workspace")

        if not isinstance(data, dict):
            raise bad(f"a JSON {type(data).__name__}, not an object")
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        version = values.get("format", FORMAT_VERSION)
        if not _is_int(version) or version < 1:
            raise bad(f"'format' is {version!r}, not a format version")
        if version > FORMAT_VERSION:
            raise SemlatError(
                f"workspace manifest {path} has format {version}, newer than the {FORMAT_VERSION} this semlat reads: "
                "upgrade semlat to open it (it is left untouched)"
            )
        if not isinstance(values.get("created", ""), str):
            raise bad("'created' is not a text")
        packages = values.get("packages", {})
        if not isinstance(packages, dict) or not all(isinstance(v, str) for v in packages.values()):
            raise bad("'packages' is not an object of texts")
        for section in SECTIONS:
            entries = values.get(section, {})
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise bad(f"{section!r} is not an object of objects")
        if not all(name.count("/") >= 2 and all(name.split("/", 2)) for name in values.get("feature_sets", {})):
            raise bad("a feature set name is not region_set/model/feature_set")
        dim = values.get("embedding_dim")
        if dim is not None and not (_is_int(dim) and dim > 0):
            raise bad("'embedding_dim' is not a number")
        for name in ("index", "scene"):
            if values.get(name) is not None and not isinstance(values[name], dict):
                raise bad(f"{name!r} is not an object")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        """Write atomically (a crash leaves the old file or the new one), recording the package versions."""
        if self.format != FORMAT_VERSION:  # `from_dict` refuses newer formats: this never rewrites one
            raise SemlatError(
                f"workspace manifest {path} has format {self.format}: this semlat writes only format {FORMAT_VERSION}"
            )
        self.packages = package_versions()
        write_json(path, self.to_dict())

    def section(self, name: str) -> dict[str, dict[str, Any]]:
        """One of `SECTIONS` by name."""
        if name not in SECTIONS:
            raise KeyError(name)
        return getattr(self, name)
