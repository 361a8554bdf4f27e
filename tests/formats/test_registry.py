"""The format registry and interfaces: every registered format is complete, lookups, refusals, import cost."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

import semlat
from semlat.errors import SemlatError
from semlat.formats import registry
from semlat.formats.base import Exporter, Importer
from semlat.settings import field_docs

KINDS = [
    ("import", registry.importers, registry.get_importer, Importer),
    ("export", registry.exporters, registry.get_exporter, Exporter),
]
FORMATS = [(kind, fmt) for kind, listing, _, _ in KINDS for fmt in listing().values()]
FORMAT_IDS = [f"{kind} {fmt.name}" for kind, fmt in FORMATS]


def test_the_original_format_goes_both_ways() -> None:
    assert "original" in registry.importers() and "original" in registry.exporters()


@pytest.mark.parametrize(("kind", "fmt"), FORMATS, ids=FORMAT_IDS)
def test_every_format_is_complete(kind: str, fmt) -> None:
    protocol = Importer if kind == "import" else Exporter
    assert isinstance(fmt, protocol)
    assert fmt.name and fmt.name == fmt.name.lower() and " " not in fmt.name
    assert fmt.description.strip() and "\n" not in fmt.description
    if fmt.settings is not None:
        assert dataclasses.is_dataclass(fmt.settings)
        docs = field_docs(fmt.settings)
        for field in dataclasses.fields(fmt.settings):
            assert docs.get(field.name), f"{fmt.name}: field {field.name} has no entry in the Args docstring"
            assert field.name not in ("workspace", "output"), "the command's own options"


@pytest.mark.parametrize(("kind", "listing", "get", "protocol"), KINDS, ids=[kind for kind, *_ in KINDS])
def test_lookup_by_name(kind: str, listing, get, protocol) -> None:
    for name, fmt in listing().items():
        assert get(name) is fmt and fmt.name == name
    with pytest.raises(SemlatError, match=rf"unknown {kind} format 'nope': choose one of .*original") as info:
        get("nope")
    assert "\n" not in str(info.value)


class Good:
    name = "good"
    description = "A format for the registry tests."
    settings = None

    def run(self, ws, *args):
        raise AssertionError("not run here")


class Twin(Good):
    pass


class NoRun:
    name = "norun"
    description = "Has no run method."
    settings = None


def test_load_refuses_duplicate_names_and_incomplete_formats() -> None:
    here = __name__
    assert list(registry._load([f"{here}:Good"], Importer)) == ["good"]
    with pytest.raises(ValueError, match="two importers are named 'good'"):
        registry._load([f"{here}:Good", f"{here}:Twin"], Importer)
    with pytest.raises(TypeError, match="NoRun is not an Exporter"):
        registry._load([f"{here}:NoRun"], Exporter)


def test_loading_every_format_imports_neither_torch_nor_the_database() -> None:
    """The CLI imports every format to build its commands, so `semlat --help` must stay quick."""
    code = (
        "import sys, semlat.formats as f; f.importers(); f.exporters(); "
        "print(sorted(m for m in ('torch', 'lancedb', 'open_clip') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(semlat.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
