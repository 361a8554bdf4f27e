"""Progress bars: every item comes through, lazily, and the bar counts them against the total when there is one."""

import pytest

from semlat.progress import track


def _generator(n: int, pulled: list[int] | None = None):
    for i in range(n):
        if pulled is not None:
            pulled.append(i)
        yield i


@pytest.mark.parametrize(
    ("items", "total", "expected", "shown"),
    [
        (["a", "b", "c"], None, ["a", "b", "c"], "3/3"),  # a list: its length is the total
        (_generator(3), None, [0, 1, 2], "3/?"),  # a generator has no length
        (_generator(3), 3, [0, 1, 2], "3/3"),  # unless it is given
        ([], None, [], "0/0"),
    ],
    ids=["list", "generator", "generator with a total", "empty"],
)
def test_every_item_is_yielded_and_counted(items, total, expected, shown, capsys):
    assert list(track(items, "reading", total=total)) == expected
    out = capsys.readouterr().out
    assert "reading" in out and shown in out


def test_items_are_pulled_one_at_a_time_and_a_loop_may_stop_early():
    pulled: list[int] = []
    seen = []
    for item in track(_generator(10, pulled), "lazy"):
        seen.append(item)
        assert pulled == seen  # nothing read ahead
        if item == 3:
            break
    assert seen == pulled == [0, 1, 2, 3]


def test_the_bar_shows_real_elapsed_time_and_a_rate(capsys, monkeypatch):
    from functools import partial

    import rich.progress

    clock = iter(float(t) for t in range(0, 10000, 30))  # every reading of the clock is 30 s later
    monkeypatch.setattr("semlat.progress.Progress", partial(rich.progress.Progress, get_time=lambda: next(clock)))
    assert list(track(range(4), "slow", total=4)) == [0, 1, 2, 3]
    out = capsys.readouterr().out
    final = out.strip().splitlines()[-1]
    assert "4/4" in final and "0:00:00 " not in final.split("4/4")[1][:9], final  # elapsed is not zero
    assert " s each" in final, final  # about 30 s per item


def test_a_fast_loop_shows_items_per_second():
    from rich.progress import Progress

    from semlat.progress import RateColumn

    progress = Progress()
    task_id = progress.add_task("fast", total=10)
    task = progress.tasks[0]
    task.start_time = 0.0
    task.finished_time = 2.0
    progress.update(task_id, completed=10)
    assert RateColumn().render(task).plain == "5.0 /s"
