"""Progress bars for every loop over images or regions (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

T = TypeVar("T")


class RateColumn(ProgressColumn):
    """Items per second, or seconds per item when slower than one a second ("?" before the first)."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        if not task.completed or not elapsed:
            return Text("? /s", style="progress.data.speed")
        rate = task.completed / elapsed
        return Text(f"{rate:.1f} /s" if rate >= 1 else f"{1 / rate:.1f} s each", style="progress.data.speed")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield from ``items`` while showing a progress bar with a count, the elapsed time, the rate and the time remaining.

    The bar redraws only when an item completes (no refresh thread): a loop that raises leaves
    this generator to be finalised whenever the garbage collector gets to it, and a refresh
    thread joined at that moment can deadlock against another bar's redraw.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, auto_refresh=False) as progress:
        task = progress.add_task(description, total=total)
        progress.refresh()
        for item in items:
            yield item
            progress.advance(task)
            progress.refresh()
