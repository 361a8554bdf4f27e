"""`semlat import FORMAT` and `semlat export FORMAT`: one command per registered format.

Each command's options are the fields of the format's settings dataclass (see `semlat.formats.base`),
so a new format needs nothing here.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Output, Workspace_, settings_option
from semlat.formats.base import Exporter, Importer
from semlat.formats.registry import exporters, importers
from semlat.settings import field_docs

import_app = typer.Typer(no_args_is_help=True, help="Read another tool's files into a workspace.")
export_app = typer.Typer(no_args_is_help=True, help="Write a workspace out as another tool's files.")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


def _options(settings: type | None) -> list[inspect.Parameter]:
    """One keyword-only option per settings field, its help from the dataclass's ``Args`` docstring."""
    if settings is None:
        return []
    hints, docs = typing.get_type_hints(settings), field_docs(settings)
    return [
        settings_option(
            field.name,
            hints[field.name],
            docs.get(field.name, ""),
            default=inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default,
            allowed=field.metadata.get("range"),
        )
        for field in dataclasses.fields(settings)
        if field.init
    ]


def _command(fmt: Importer | Exporter, fixed: list[inspect.Parameter], body: Callable[..., None]) -> Callable[..., None]:
    """A function Typer reads as ``fixed`` options plus the format's settings."""

    def command(**kwargs: Any) -> None:
        body(**kwargs)

    params = _options(fmt.settings)
    clash = {param.name for param in fixed} & {param.name for param in params}
    if clash:
        raise TypeError(f"settings of format {fmt.name!r} reuse the command's own options: {sorted(clash)}")
    command.__signature__ = inspect.Signature([*fixed, *params])  # type: ignore[attr-defined]
    command.__annotations__ = {}
    return command


def _settings(fmt: Importer | Exporter, options: dict[str, Any]) -> Any:
    return None if fmt.settings is None else fmt.settings(**options)


_WORKSPACE = inspect.Parameter("workspace", inspect.Parameter.KEYWORD_ONLY, annotation=Workspace_)
_OUTPUT = inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=Output)


def add_import(group: typer.Typer, importer: Importer) -> None:
    """Add ``importer`` to ``group`` as a command named after it (``semlat import NAME``)."""

    def run(workspace: Path, **options: Any) -> None:
        from semlat.workspace import Workspace

        result = importer.run(Workspace.open_or_create(workspace), _settings(importer, options))
        out.print(f"imported {len(result.images)} images into {workspace}", soft_wrap=True, markup=False)

    group.command(importer.name, help=importer.description)(_command(importer, [_WORKSPACE], run))


def add_export(group: typer.Typer, exporter: Exporter) -> None:
    """Add ``exporter`` to ``group`` as a command named after it (``semlat export NAME``)."""

    def run(workspace: Path, output: Path, **options: Any) -> None:
        from semlat.workspace import Workspace

        result = exporter.run(Workspace.open(workspace), output, _settings(exporter, options))
        if len(result.files) <= 3:
            out.print(f"wrote {', '.join(map(str, result.files))}", soft_wrap=True, markup=False)
        else:
            out.print(
                f"wrote {len(result.files)} files for {result.images} images into {result.out_dir}", soft_wrap=True, markup=False
            )

    group.command(exporter.name, help=exporter.description)(_command(exporter, [_WORKSPACE, _OUTPUT], run))


for _importer in importers().values():
    add_import(import_app, _importer)
for _exporter in exporters().values():
    add_export(export_app, _exporter)
