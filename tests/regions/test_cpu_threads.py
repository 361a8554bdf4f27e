"""Work items side by side on the CPU's cores, in order, each thread with its share of PyTorch's threads."""

import threading
import time

import pytest
import torch

from semlat.regions.cpu_threads import map_on_cores


def test_the_results_come_in_the_items_order_from_several_threads():
    names = set()

    def work(item: int) -> int:
        names.add(threading.current_thread().name)
        time.sleep(0.01 * (item % 3))  # finishing out of order
        return item * item

    assert map_on_cores(work, list(range(12)), 3) == [item * item for item in range(12)]
    assert len(names) == 3


def test_each_thread_gets_its_share_of_the_intra_op_threads_and_later_threads_get_them_all():
    before = torch.get_num_threads()
    seen = map_on_cores(lambda _: torch.get_num_threads(), [0, 1], 2)
    assert seen == [max(1, before // 2)] * 2
    later = []
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert later == [before] and torch.get_num_threads() == before


def test_the_first_error_is_raised_and_no_further_item_starts():
    started = []

    def work(item: int) -> int:
        started.append(item)
        if item == 1:
            raise ValueError("item 1 is bad")
        time.sleep(0.02)
        return item

    with pytest.raises(ValueError, match="item 1 is bad"):
        map_on_cores(work, list(range(20)), 2)
    assert len(started) < 20


def test_one_worker_or_one_item_runs_on_the_calling_thread():
    caller = threading.current_thread().name
    assert map_on_cores(lambda _: threading.current_thread().name, [0, 1], 1) == [caller, caller]
    assert map_on_cores(lambda _: threading.current_thread().name, [0], 4) == [caller]
