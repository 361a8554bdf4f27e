"""`semlat import FORMAT` and `semlat export FORMAT`: one command per registered format.

Each command's options are the fields of the format's settings dataclass (see `semlat.formats.base`),
so a new format needs nothing here.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import Output, Workspace_
from semlat.formats.base import Exporter, Importer
from semlat.formats.registry import exporters, importers

import_app = typer.Typer(no_args_is_help=True, help="Read another tool's files into a workspace.")
export_app = typer.Typer(no_args_is_help=True, help="Write a workspace out as another tool's files.")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


def _cli_type(annotation: Any) -> Any:
    """``X | None`` as ``Optional[X]``, the spelling Typer reads everywhere."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        return Optional[next(arg for arg in args if arg is not type(None))]
    return annotation


def _options(settings: type | None) -> list[inspect.Parameter]:
    """One keyword-only parameter per settings field, annotated as a Typer option."""
    if settings is None:
        return []
    hints = typing.get_type_hints(settings)
    params = []
    for field in dataclasses.fields(settings):
        if not field.init:
            continue
        option = typer.Option(help=field.metadata.get("help"))
        default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        annotation = Annotated[_cli_type(hints[field.name]), option]
        params.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return params


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
        out.print(f"wrote {', '.join(map(str, result.files))}", soft_wrap=True, markup=False)

    group.command(exporter.name, help=exporter.description)(_command(exporter, [_WORKSPACE, _OUTPUT], run))


for _importer in importers().values():
    add_import(import_app, _importer)
for _exporter in exporters().values():
    add_export(export_app, _exporter)
