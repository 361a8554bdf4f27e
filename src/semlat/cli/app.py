"""The Typer app, its consoles and the entry point.

Every `SemlatError` and every usage error Typer finds (a value that is not a number, a missing\noption, a value out of range) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from typing import NoReturn

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


def fail(message: str, code: int = 2) -> NoReturn:
    """The one way an error reaches the user: one line on stderr, then exit (2: bad input)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Run the CLI; bad input, whether Typer finds it while parsing or a stage does, is one line and exit code 2."""
    logging.basicConfig(level=logging.ERROR)  # open_clip and huggingface_hub log chatter at INFO/WARNING
    try:
        load_plugins()
        code = app(standalone_mode=False)
    except SemlatError as exc:
        fail(str(exc))
    except typer.Abort:
        fail("aborted", 1)
    except typer.TyperException as exc:  # Typer's own usage errors (its vendored click's ClickException)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help was printed while the error was made
        ctx = getattr(exc, "ctx", None)
        see = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        fail(" ".join(f"{exc.format_message()}{see}".split()), getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
