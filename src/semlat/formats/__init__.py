"""Importers and exporters of other tools' files, registered by name (`semlat.formats.registry`).

``get_importer(name).run(ws, settings)`` and ``get_exporter(name).run(ws, out_dir, settings)``;
the interfaces and result types are in `semlat.formats.base`. Formats: ``original`` (the original
research code's npz files, in and out). Scene folders (images, COLMAP, nerfstudio) are read by
`semlat.formats.scenes.read_scene`.
"""

from semlat.formats.base import Exporter, ExportResult, Importer, ImportResult
from semlat.formats.registry import exporters, get_exporter, get_importer, importers

__all__ = ["ExportResult", "Exporter", "ImportResult", "Importer", "exporters", "get_exporter", "get_importer", "importers"]
