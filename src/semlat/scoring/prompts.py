"""Text prompts as users write them: "ceiling,ground,toilet paper" or a file of the same."""

from __future__ import annotations

import re
from pathlib import Path

from semlat.errors import SemlatError

CANONICAL_PHRASES = ("object", "things", "stuff", "texture")
"""LERF's canonical phrases for relevancy scores."""


MAX_PROMPTS = 100
"""Most prompts of one query: each adds a full-resolution map per image (P × H × W floats)."""

MAX_PROMPT_CHARS = 300
"""Longest prompt; CLIP reads 77 tokens, so a longer text is a pasted file, not a prompt."""


def check_prompts(prompts: list[str]) -> list[str]:
    """The one bound on prompts (every query path calls it): at least one, at most `MAX_PROMPTS`, each at most `MAX_PROMPT_CHARS`."""
    if not prompts:
        raise SemlatError("no prompts given: pass --prompts 'ceiling,ground' or --prompts-file FILE")
    if len(prompts) > MAX_PROMPTS:
        raise SemlatError(f"{len(prompts)} prompts given, more than {MAX_PROMPTS}: query them in several runs")
    long = next((p for p in prompts if len(p) > MAX_PROMPT_CHARS), None)
    if long is not None:
        raise SemlatError(
            f"a prompt of {len(long)} characters ({long[:30]!r}...) is longer than {MAX_PROMPT_CHARS}: pass short phrases"
        )
    return prompts


def parse_prompts(text: str | None = None, file: Path | None = None) -> list[str]:
    """Prompts separated by commas or new lines, stripped, empty ones and repeats dropped, bounded by `check_prompts`."""
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise SemlatError(f"cannot read prompts file {file} ({exc.strerror}): pass an existing text file") from exc
        except UnicodeDecodeError as exc:
            raise SemlatError(f"prompts file {file} is not UTF-8 text (byte {exc.start}): pass a text file of prompts") from exc
    return check_prompts(list(dict.fromkeys(p.strip() for p in re.split(r"[,\n]", text or "") if p.strip())))
