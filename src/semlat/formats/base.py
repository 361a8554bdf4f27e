"""The importer and exporter interfaces, and the typed results they return.

A format is a module with an `Importer` and/or an `Exporter`: a class with a ``name`` (the word
after ``semlat import`` / ``semlat export``), a one-line ``description`` (shown by ``--help``), a
``settings`` dataclass of its options (or None) and a ``run`` method. The CLI builds one command
per registered format from these: every field of the settings dataclass becomes an option
(``region_set`` -> ``--region-set``; its help text is the field's entry in the dataclass's
``Args`` docstring section, `semlat.settings.field_docs`; a field without a default is a
required option).

Rules every format follows:

* ``run`` takes the open `Workspace` first. An importer checks all of its input before its first
  write (`Workspace.open_or_create` writes nothing until then), so bad input is one `SemlatError`
  and the workspace is left as it was; writing is then per image and resumable.
* An exporter streams image by image and writes every file atomically (`semlat.files`), into a
  folder made with `semlat.files.output_dir`, so a failed export leaves the folder as it was.
* Format modules import heavy dependencies (torch, the workspace's database) inside functions:
  the CLI imports every format to build ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from semlat.types import FeatureKey

if TYPE_CHECKING:
    from semlat.workspace import Workspace


@dataclass(frozen=True)
class ImportResult:
    """What an import put in the workspace."""

    format: str
    images: tuple[str, ...]
    """File names of the images the import covers, in the order written."""
    written: int
    """How many of them were written now (the others were already there: a resumed import)."""
    region_set: str | None = None
    feature_key: FeatureKey | None = None


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    format: str
    out_dir: Path
    files: tuple[Path, ...]
    """Every file written, in the format's order."""
    images: int
    """How many images they hold."""
    feature_key: FeatureKey | None = None


@runtime_checkable
class Importer(Protocol):
    """Reads another tool's files into a workspace: ``semlat import NAME``."""

    name: ClassVar[str]
    description: ClassVar[str]
    settings: ClassVar[type | None]
    """Dataclass of the format's inputs and options (its fields are the command's options), or None."""

    def run(self, ws: Workspace, settings: Any) -> ImportResult:
        """Import into ``ws``; ``settings`` is an instance of ``self.settings`` (None if that is None)."""
        ...


@runtime_checkable
class Exporter(Protocol):
    """Writes a workspace out as another tool's files: ``semlat export NAME -w WS -o DIR``."""

    name: ClassVar[str]
    description: ClassVar[str]
    settings: ClassVar[type | None]
    """Dataclass of the format's options (its fields are the command's options), or None."""

    def run(self, ws: Workspace, out_dir: Path, settings: Any) -> ExportResult:
        """Write ``ws`` into ``out_dir`` (created if missing); ``settings`` as for `Importer.run`."""
        ...
