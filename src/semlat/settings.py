"""Settings dataclasses document their fields once, in a Google-style ``Args`` section, and bound them with a `Range`.

The command line reads its help texts from there (`semlat masks` from the region backends'
settings, `semlat import|export FORMAT` from the formats'), so code, docs and ``--help`` agree.
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from semlat.errors import SemlatError


def field_docs(settings: type) -> dict[str, str]:
    """Each field's text in the ``Args`` section of a Google-style class docstring, on one line.

    A subclass adds to (or rewrites) the entries of the classes it derives from, so shared options
    are documented once, in the base settings class.
    """
    docs: dict[str, str] = {}
    for klass in reversed(settings.__mro__):
        if klass is not object and klass.__doc__:
            docs.update(_args_section(inspect.cleandoc(klass.__doc__)))
    return {key: text.replace("``", "") for key, text in docs.items()}


def _args_section(doc: str) -> dict[str, str]:
    docs: dict[str, str] = {}
    name = None
    for line in doc.split("Args:", 1)[1].splitlines() if "Args:" in doc else []:
        if line and not line.startswith(" "):
            break  # the next section
        entry = re.match(r" {4}(\w+): (.*)", line)
        if entry:
            name = entry[1]
            docs[name] = entry[2].strip()
        elif name and line.strip():
            docs[name] += " " + line.strip()
    return docs


@dataclass(frozen=True)
class Range:
    """The allowed values of one numeric setting or option: the one range check (NaN and infinities never pass).

    Settings dataclasses put one in a field's ``metadata["range"]`` (`ranged`) and call
    `check_ranges` in ``__post_init__``; the command line turns each into a callback
    (`semlat.cli.options.bounded`), so a value is refused with the same words from Python and from a command.

    Args:
        low: the smallest value (None: no lower bound).
        high: the largest value (None: no upper bound).
        low_open: ``low`` itself is refused.
        high_open: ``high`` itself is refused.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    @property
    def interval(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def contains(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def problem(self, value: float) -> str | None:
        """None when ``value`` is allowed, else the end of the one message: 'X is not in [a, b]: ...'."""
        return None if self.contains(value) else f"{value} is not in {self.interval}: pass a value in that range"


def ranged(default: Any, range_: Range, **metadata: Any) -> Any:
    """A dataclass field with a default and its allowed `Range`."""
    return field(default=default, metadata={"range": range_, **metadata})


def check_ranges(settings: Any) -> None:
    """Refuse a settings dataclass whose fields are outside their `Range` (``metadata["range"]``), naming the option."""
    for item in fields(settings):
        range_ = item.metadata.get("range")
        value = getattr(settings, item.name)
        if range_ is not None and value is not None:
            problem = range_.problem(value)
            if problem:
                flag = item.metadata.get("option", item.name.replace("_", "-"))
                raise SemlatError(f"--{flag} {problem}")


POSITIVE = Range(1)
"""A count that must be at least 1."""
NON_NEGATIVE = Range(0)
"""A count or size where 0 means "off" or "all"."""
FRACTION = Range(0, 1)
"""A threshold or share in [0, 1]."""
AREA_FRACTION = Range(0, 1, high_open=True)
"""A share of the image area: below 1, or no region would be left."""
MAX_SEED = 2**32 - 1
"""Largest seed (numpy's and torch's generators take 0 .. 2**32 - 1)."""
SEED = Range(0, MAX_SEED)
