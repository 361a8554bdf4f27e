"""The region backends: one table of their modes, each a settings dataclass and the factory built from it.

Adding a backend is its module (a frozen settings dataclass documented with a Google-style
``Args`` section, and a proposer built from it: see `semlat.regions.base`) and one line in
`BACKENDS`. The settings dataclasses are the only source of defaults: the masks stage, the Python
API and the CLI (whose options and help texts are made from their fields by `options`) all build
the same settings from the same given options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from functools import partial
from types import NoneType, UnionType
from typing import Any, NamedTuple, Union, get_args, get_origin, get_type_hints

from semlat.errors import SemlatError
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings
from semlat.regions.base import CollectionProposer, RegionProposer
from semlat.regions.classical import ClassicalProposer, ClassicalSettings
from semlat.regions.clustered import ClusteredProposer, ClusteredSettings
from semlat.settings import Range, field_docs


@dataclass(frozen=True)
class Mode:
    """One way a backend proposes regions.

    Args:
        settings: its frozen settings dataclass.
        factory: builds the proposer from an instance of ``settings``.
    """

    settings: type
    factory: Callable[[Any], RegionProposer | CollectionProposer]


def _sam(backend: str) -> dict[str, Mode]:
    """SAM's modes for one model family (``backend`` chooses the weights); the first is the default."""
    return {
        "automatic": Mode(AutomaticSettings, partial(AutomaticProposer, backend=backend)),
        "clustered": Mode(ClusteredSettings, partial(ClusteredProposer, backend=backend)),
    }


BACKENDS: dict[str, dict[str, Mode]] = {
    "mobile-sam": _sam("mobile-sam"),
    "sam": _sam("sam"),
    "classical": {"classical": Mode(ClassicalSettings, ClassicalProposer)},
}
"""Backend name → its modes by name (the first is the default; a backend with one mode takes no ``mode``)."""


def modes(backend: str) -> dict[str, Mode]:
    """The modes of ``backend``; an unknown name is a user error listing the known ones."""
    try:
        return BACKENDS[backend]
    except KeyError:
        raise SemlatError(f"unknown region backend {backend!r}: choose one of {', '.join(sorted(BACKENDS))}") from None


def resolve_mode(backend: str, mode: str | None = None) -> tuple[str, Mode]:
    """The name and `Mode` of ``mode`` of ``backend`` (None: its default mode)."""
    known = modes(backend)
    if mode is None:
        return next(iter(known.items()))
    if len(known) == 1:
        raise SemlatError(f"--mode does not apply to {backend}")
    if mode not in known:
        raise SemlatError(f"unknown --mode {mode!r} for {backend}: use {' or '.join(known)}")
    return mode, known[mode]


def make_settings(backend: str, mode: str | None = None, **options: Any) -> Any:
    """The settings of ``backend`` in ``mode`` with ``options`` over the dataclass defaults.

    Args:
        backend: a name in `BACKENDS`.
        mode: one of its modes (None: the default one).
        **options: settings fields; None means not given (the default applies). A field of
            another backend or mode is a user error naming the option.
    """
    name, chosen = resolve_mode(backend, mode)
    given = {key: value for key, value in options.items() if value is not None}
    unknown = sorted(set(given) - {f.name for f in fields(chosen.settings)})
    if unknown:
        flags = ", ".join(f"--{_flags().get(key, key.replace('_', '-'))}" for key in unknown)
        scope = name if len(modes(backend)) == 1 else f"{name} mode"
        raise SemlatError(f"{flags} does not apply to {scope}")
    return chosen.settings(**given)


def make_proposer(backend: str, mode: str | None = None, **options: Any) -> RegionProposer | CollectionProposer:
    """The proposer of ``backend`` in ``mode``, built from `make_settings` (which checks ``options``)."""
    settings = make_settings(backend, mode, **options)
    return resolve_mode(backend, mode)[1].factory(settings)


# -- the settings as command-line options --------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One settings field as a command-line option, over every mode that has it.

    Args:
        name: the field (the keyword of `make_settings`).
        flag: the option without its dashes (a field's ``metadata["option"]``, else its name).
        type: the field's type (int, float, str or bool), None removed.
        help: the field's ``Args`` text, prefixed by the modes that have it unless all do.
        default: the defaults to show ("64", or "clustered: 0, classical: 64"); None when none is set.
        allowed: the values every mode with the field allows at least (`semlat.settings.Range`, the
            widest of theirs; each mode's settings check its own range), None when unbounded.
    """

    name: str
    flag: str
    type: type
    help: str
    default: str | None
    allowed: Range | None = None


def _distinct_modes() -> list[tuple[str, type]]:
    """(mode name, settings dataclass) once each, in table order."""
    seen: dict[tuple[str, type], None] = {}
    for known in BACKENDS.values():
        for name, mode in known.items():
            seen.setdefault((name, mode.settings), None)
    return list(seen)


def _plain_type(annotation: Any) -> type:
    if get_origin(annotation) in (Union, UnionType):
        (annotation,) = [arg for arg in get_args(annotation) if arg is not NoneType]
    return annotation


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _flags() -> dict[str, str]:
    return {option.name: option.flag for option in options()}


class _Field(NamedTuple):
    mode: str
    type: type
    default: str | None
    text: str
    flag: str
    allowed: Range | None


def _widest(ranges: list[Range | None]) -> Range | None:
    """The smallest `Range` holding each of ``ranges`` (None when any is unbounded)."""
    if not ranges or any(r is None for r in ranges):
        return None
    lows, highs = [r.low for r in ranges], [r.high for r in ranges]
    low = None if None in lows else min(lows)
    high = None if None in highs else max(highs)
    if len(set(ranges)) == 1:
        return ranges[0]
    return Range(low, high)


def options() -> list[Option]:
    """Every settings field of every registered mode, as one option per field name (in table order)."""
    per_name: dict[str, list[_Field]] = {}
    every = _distinct_modes()
    for mode, settings in every:
        docs, hints = field_docs(settings), get_type_hints(settings)
        for item in fields(settings):
            if item.name not in docs:
                raise TypeError(f"{settings.__name__}.{item.name} has no entry in the class docstring's Args section")
            default = _shown(item.default if item.default is not MISSING else None)
            flag = item.metadata.get("option", item.name.replace("_", "-"))
            entry = _Field(mode, _plain_type(hints[item.name]), default, docs[item.name], flag, item.metadata.get("range"))
            per_name.setdefault(item.name, []).append(entry)
    out = []
    for name, entries in per_name.items():
        scopes = [entry.mode for entry in entries]
        if len({entry.type for entry in entries}) != 1 or len({entry.flag for entry in entries}) != 1:
            raise TypeError(f"setting {name!r} has different types or option names in {', '.join(scopes)}")
        texts = {entry.text for entry in entries}
        if len(texts) > 1:
            text = "; ".join(f"{entry.mode}: {entry.text.rstrip('.')}" for entry in entries) + "."
        elif len(entries) < len(every):
            text = f"{', '.join(scopes)}: {entries[0].text}"
        else:
            text = entries[0].text[:1].upper() + entries[0].text[1:]
        defaults = {entry.default for entry in entries}
        if len(defaults) == 1:
            default = entries[0].default
        else:
            default = ", ".join(f"{entry.mode}: {entry.default}" for entry in entries if entry.default is not None)
        allowed = _widest([entry.allowed for entry in entries])
        out.append(Option(name, entries[0].flag, entries[0].type, text, default, allowed))
    return out
