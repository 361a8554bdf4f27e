"""The `semlat` command line: one module per stage, each command a few lines over the Python API.

Commands of other packages join through the ``semlat.cli`` entry-point group (a callable that
takes the Typer app), as the toy world's `demo`, `eval` and `toyworld` do.
"""

from semlat.cli import masks, label, embed, query, search, consistency, formats, info, serve  # noqa: F401, I001  (pipeline order in --help)
from semlat.cli.app import app, main

__all__ = ["app", "main"]
