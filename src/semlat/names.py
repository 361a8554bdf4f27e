"""File names semlat derives from what users give it (image names, prompts): safe, bounded, distinct.

A name made here is one path component that cannot leave its folder (no separators, never ``.``
or ``..``, no leading dot), fits every file system (at most `MAX_NAME_BYTES` of UTF-8, letters of
any script kept, so "日本" and "ñ" stay apart), and `unique_names` makes a list of them distinct
even on case-insensitive file systems and distinct from the names semlat writes itself, with a
``-2``, ``-3``… suffix on a collision. What a name stands for is recorded beside the files (e.g.
``query.json``), since a name alone cannot always say it.

Formats whose consumers dictate the name (LangSplat's "image name before its first dot") keep
their rule and only check it with `is_safe_name`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

MAX_NAME_BYTES = 96
"""Longest derived name in UTF-8 bytes, before an extension or suffix (file systems allow 255)."""

_UNSAFE = re.compile(r"[^\w.\-]+")
"""Runs of anything but letters, digits, underscore, dot and hyphen (``\\w`` is Unicode-aware)."""


def safe_name(text: str, *, fallback: str, lower: bool = False) -> str:
    """One path component for ``text``: unsafe runs become ``-``, no leading/trailing dots or dashes.

    Args:
        text: an image stem or a prompt.
        fallback: the name when nothing usable is left ("...", "!!", an emoji).
        lower: lower-case it (prompts: "RED CUBE" is "red-cube").

    A name longer than `MAX_NAME_BYTES` is cut and gets 8 hex digits of the text's sha1, so two
    long texts that differ only at their end keep different names.
    """
    name = unicodedata.normalize("NFC", text.strip())
    name = name.lower() if lower else name
    name = _UNSAFE.sub("-", name).strip(".-")
    name = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", name)) or fallback
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        name = encoded[: MAX_NAME_BYTES - 9].decode("utf-8", errors="ignore").rstrip(".-") + "-" + digest
    return name


def unique_names(texts: Sequence[str], *, fallback: str, lower: bool = False, reserved: Iterable[str] = ()) -> list[str]:
    """`safe_name` of each text, made distinct (case-insensitively) from each other and from ``reserved``.

    The first text keeps its name; a later one that collides gets ``-2``, ``-3``…, the first
    suffix that is free. The result depends only on ``texts`` and their order.
    """
    taken = {name.casefold() for name in reserved}
    out = []
    for text in texts:
        base = safe_name(text, fallback=fallback, lower=lower)
        name, count = base, 1
        while name.casefold() in taken:
            count += 1
            name = f"{base}-{count}"
        taken.add(name.casefold())
        out.append(name)
    return out


def is_safe_name(name: str) -> bool:
    """Whether ``name`` is one path component that stays in its folder and fits a file system."""
    return (
        bool(name)
        and name not in (".", "..")
        and not any(char in name for char in "/\\\0")
        and len(name.encode("utf-8", errors="replace")) <= 255
    )
