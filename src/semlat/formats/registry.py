"""Every importer and exporter, by name: adding a format is its module plus one line here.

Entries are ``"module:Class"`` (as entry points are), loaded on first use; the class is
instantiated without arguments and must satisfy `Importer` or `Exporter` (`semlat.formats.base`).
"""

from __future__ import annotations

import importlib
from functools import cache

from semlat.errors import SemlatError
from semlat.formats.base import Exporter, Importer

IMPORTERS: list[str] = [
    "semlat.formats.original:OriginalImporter",
]
EXPORTERS: list[str] = [
    "semlat.formats.original:OriginalExporter",
    "semlat.formats.langsplat:LangSplatExporter",
    "semlat.formats.feature_3dgs:Feature3DGSExporter",
    "semlat.formats.gaussian_grouping:GaussianGroupingExporter",
]


def _load(entries: list[str], kind: type) -> dict[str, Importer | Exporter]:
    formats: dict[str, Importer | Exporter] = {}
    for entry in entries:
        module, _, attribute = entry.partition(":")
        instance = getattr(importlib.import_module(module), attribute)()
        if not isinstance(instance, kind):
            raise TypeError(f"{entry} is not an {kind.__name__}: it needs name, description, settings and run")
        if instance.name in formats:
            raise ValueError(f"two {kind.__name__.lower()}s are named {instance.name!r}: {entry} and another")
        formats[instance.name] = instance
    return formats


@cache
def importers() -> dict[str, Importer]:
    """Every registered importer by name, in registry order."""
    return _load(IMPORTERS, Importer)  # type: ignore[return-value]


@cache
def exporters() -> dict[str, Exporter]:
    """Every registered exporter by name, in registry order."""
    return _load(EXPORTERS, Exporter)  # type: ignore[return-value]


def _get(formats: dict, name: str, what: str):
    try:
        return formats[name]
    except KeyError:
        raise SemlatError(f"unknown {what} format {name!r}: choose one of {', '.join(formats)}") from None


def get_importer(name: str) -> Importer:
    """The importer called ``name``; a `SemlatError` listing the known ones if there is none."""
    return _get(importers(), name, "import")


def get_exporter(name: str) -> Exporter:
    """The exporter called ``name``; a `SemlatError` listing the known ones if there is none."""
    return _get(exporters(), name, "export")
