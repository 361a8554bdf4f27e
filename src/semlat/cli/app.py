"""The Typer app, its consoles and the entry point.

Every `SemlatError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import typer
from rich.console import Console
from rich.markup import escape

from semlat.errors import SemlatError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Region-level CLIP semantics for a folder of photos of one scene.",
)
err = Console(stderr=True)
out = Console()

PLUGIN_GROUP = "semlat.cli"
"""Entry-point group of functions ``register(app)`` that add commands (nerfstudio's way)."""


def load_plugins() -> None:
    for entry in entry_points(group=PLUGIN_GROUP):
        entry.load()(app)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # open_clip and huggingface_hub log chatter at INFO/WARNING
    try:
        load_plugins()
        app()
    except SemlatError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
