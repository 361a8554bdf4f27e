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
