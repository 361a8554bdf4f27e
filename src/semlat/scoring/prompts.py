"""Text prompts as users write them: "ceiling,ground,toilet paper" or a file of the same."""

from __future__ import annotations

import re
from pathlib import Path

from semlat.errors import SemlatError

CANONICAL_PHRASES = ("object", "things", "stuff", "texture")
"""LERF's canonical phrases for relevancy scores."""


def parse_prompts(text: str | None = None, file: Path | None = None) -> list[str]:
    """Prompts separated by commas or new lines, stripped, empty ones and repeats dropped."""
    if file is not None:
        try:
            text = Path(file).read_text()
        except OSError as exc:
            raise SemlatError(f"cannot read prompts file {file} ({exc.strerror}): pass an existing text file") from exc
    prompts = list(dict.fromkeys(p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()))
    if not prompts:
        raise SemlatError("no prompts given: pass --prompts 'ceiling,ground' or --prompts-file FILE")
    return prompts
