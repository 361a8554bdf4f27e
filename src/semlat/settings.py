"""Settings dataclasses document their fields once, in a Google-style ``Args`` section.

The command line reads its help texts from there (`semlat masks` from the region backends'
settings, `semlat import|export FORMAT` from the formats'), so code, docs and ``--help`` agree.
"""

from __future__ import annotations

import inspect
import re


def field_docs(settings: type) -> dict[str, str]:
    """Each field's text in the ``Args`` section of a Google-style class docstring, on one line."""
    doc = inspect.getdoc(settings) or ""
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
    return {key: text.replace("``", "") for key, text in docs.items()}
