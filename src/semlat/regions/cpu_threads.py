"""Independent work items side by side on a CPU's cores, each with its share of PyTorch's threads.

The automatic generator's decoder is a long chain of mid-sized ops (products with K of 16 to 256,
softmaxes, norms, many small token-side products). PyTorch splits each op over all intra-op
threads, and every op ends in a barrier; the token-side ops are too small to split well at all.
Two batches of prompts decoded at once, each on one thread, keep both cores busy between the
barriers, and each core's cache holds its own batch. Why by hand: ``ThreadPoolExecutor`` runs
the items but does not give each thread its own intra-op thread count, nor hand the count back
(PyTorch's ``set_num_threads`` on a worker thread becomes the count new threads start with).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_on_cores(work: Callable[[Item], Result], items: Sequence[Item], workers: int) -> list[Result]:
    """``[work(item) for item in items]`` on up to ``workers`` threads sharing the intra-op threads; in order.

    Each thread takes the next item as it finishes one. The first exception of any item is raised
    here, after the threads have stopped (no further items start once one failed).
    """
    import torch

    workers = min(workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    threads_before = torch.get_num_threads()
    results: list = [None] * len(items)
    errors: list[BaseException] = []
    order = itertools.count()  # next() on a count is atomic under the GIL

    def run() -> None:
        torch.set_num_threads(max(1, threads_before // workers))
        try:
            while (index := next(order)) < len(items) and not errors:
                results[index] = work(items[index])
        except BaseException as error:  # handed to the caller below
            errors.append(error)
        finally:
            torch.set_num_threads(threads_before)  # what threads started later get

    threads = [threading.Thread(target=run, name=f"semlat-cpu-{k}", daemon=True) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
