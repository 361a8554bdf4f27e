from dataclasses import dataclass

from semlat.settings import field_docs


def test_field_docs_read_a_google_style_args_section():
    @dataclass
    class Example:
        """Summary.

        Args:
            first: one line.
            second: two
                lines with ``code``.

        Returns:
            nothing: not an argument.
        """

        first: int = 0
        second: int = 0

    assert field_docs(Example) == {"first": "one line.", "second": "two lines with code."}


import math  # noqa: E402

import pytest  # noqa: E402

from semlat.errors import SemlatError  # noqa: E402
from semlat.settings import FRACTION, Range, check_ranges, ranged  # noqa: E402


@pytest.mark.parametrize(
    ("allowed", "inside", "outside", "interval"),
    [
        (Range(1), [1, 10**9], [0, -3, math.nan, math.inf], "[1, inf]"),
        (FRACTION, [0, 0.5, 1], [-0.1, 1.01, math.nan], "[0, 1]"),
        (Range(0, 1, high_open=True), [0, 0.999], [1, 1.0], "[0, 1)"),
        (Range(0, None, low_open=True), [1e-9, 5], [0, -1, -math.inf], "(0, inf]"),
    ],
)
def test_a_range_holds_its_values_and_refuses_the_rest_naming_itself(allowed, inside, outside, interval):
    assert all(allowed.contains(value) for value in inside)
    assert not any(allowed.contains(value) for value in outside)
    assert allowed.problem(outside[0]) == f"{outside[0]} is not in {interval}: pass a value in that range"
    assert allowed.problem(inside[0]) is None


def test_settings_check_their_fields_ranges_by_option_name():
    @dataclass(frozen=True)
    class Example:
        """Args:
        count: how many.
        share: a fraction.
        """

        count: int = ranged(3, Range(1), option="how-many")
        share: float | None = ranged(None, FRACTION)

        def __post_init__(self) -> None:
            check_ranges(self)

    assert Example().count == 3 and Example(share=1.0).share == 1.0
    with pytest.raises(SemlatError, match=r"^--how-many 0 is not in \[1, inf\]"):
        Example(count=0)
    with pytest.raises(SemlatError, match=r"^--share nan is not in \[0, 1\]"):
        Example(share=math.nan)
