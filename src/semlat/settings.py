"""Settings dataclasses document their fields once, in a Google-style ``Args`` section.

The command line reads its help texts from there (`semlat masks` from the region backends'
settings, `semlat import|export FORMAT` from the formats'), so code, docs and ``--help`` agree.
"""

from __future__ import annotations

import inspect
import re


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
