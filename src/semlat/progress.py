"""Progress bars for every loop over images or regions (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield from ``items`` while showing a progress bar with a count and time remaining.

    The bar redraws only when an item completes (no refresh thread): a loop that raises leaves
    this generator to be finalised whenever the garbage collector gets to it, and a refresh
    thread joined at that moment can deadlock against another bar's redraw.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, auto_refresh=False) as progress:
        task = progress.add_task(description, total=total)
        progress.refresh()
        for item in items:
            yield item
            progress.advance(task)
            progress.refresh()
