"""`semlat import FORMAT` / `semlat export FORMAT`: commands built from the registry and the formats' settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from semlat.cli.formats import add_export, add_import
from semlat.formats import exporters, importers
from semlat.formats.base import ExportResult, ImportResult
from semlat.types import FeatureKey
from tests.conftest import snapshot
from tests.formats.test_original import write_original_files


@pytest.fixture
def original(tmp_path: Path) -> dict[str, Path]:
    return write_original_files(tmp_path)


def import_args(files: dict[str, Path], workspace: Path) -> list:
    return [
        "import",
        "original",
        "--images",
        files["images"],
        "--masks-npz",
        files["masks"],
        "--labels-npz",
        files["labels"],
        "-w",
        workspace,
    ]


def test_import_then_export_original(cli, original: dict[str, Path], tmp_path: Path) -> None:
    ws, out = tmp_path / "ws", tmp_path / "out"
    code, stdout, err = cli(*import_args(original, ws), "--features-npz", original["features"])
    assert code == 0, err
    assert "imported 2 images" in stdout
    code, stdout, err = cli("export", "original", "-w", ws, "-o", out)
    assert code == 0, err
    assert f"wrote {out / 'semantic_features.npz'}, {out / 'refined_label.npz'}" in stdout
    with np.load(out / "semantic_features.npz") as got, np.load(original["features"]) as want:
        for name in want.files:
            np.testing.assert_allclose(got[name], want[name], atol=1e-6)


def test_export_options_pick_the_feature_set(cli, original: dict[str, Path], tmp_path: Path) -> None:
    ws, out = tmp_path / "ws", tmp_path / "out"
    for model_key in ("first", "second"):
        code, _, err = cli(*import_args(original, ws), "--features-npz", original["features"], "--model-key", model_key)
        assert code == 0, err
    code, _, err = cli("export", "original", "-w", ws, "-o", out)
    assert code == 2 and "several feature sets" in err
    assert not out.exists()
    code, _, err = cli("export", "original", "-w", ws, "-o", out, "--model-key", "second")
    assert code == 0, err
    assert (out / "semantic_features.npz").is_file()


@pytest.mark.parametrize("kind", ["import", "export"])
def test_help_lists_every_registered_format(cli, kind: str) -> None:
    code, stdout, _ = cli(kind, "--help")
    assert code == 0
    listing = importers() if kind == "import" else exporters()
    flat = " ".join(stdout.replace("│", " ").split())
    for name, fmt in listing.items():
        assert name in stdout and " ".join(fmt.description.split()[:4]) in flat


FORMATS = [("import", fmt) for fmt in importers().values()] + [("export", fmt) for fmt in exporters().values()]


@pytest.mark.parametrize(("kind", "fmt"), FORMATS, ids=[f"{kind} {fmt.name}" for kind, fmt in FORMATS])
def test_each_format_has_its_settings_as_options(cli, kind: str, fmt) -> None:
    code, stdout, _ = cli(kind, fmt.name, "--help")
    assert code == 0
    names = [field.name for field in dataclasses.fields(fmt.settings)] if fmt.settings else []
    for name in ["workspace", *(["output"] if kind == "export" else []), *names]:
        assert "--" + name.replace("_", "-") in stdout


@pytest.mark.parametrize(
    "args",
    [
        lambda f, ws, out: [
            "import",
            "original",
            "--images",
            f["images"],
            "--masks-npz",
            f["labels"].parent / "none.npz",
            "--labels-npz",
            f["labels"],
            "-w",
            ws,
        ],
        lambda f, ws, out: ["export", "original", "-w", ws, "-o", out],
    ],
    ids=["missing masks file", "export of no workspace"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, original: dict[str, Path], tmp_path: Path, args) -> None:
    before = snapshot(tmp_path)
    code, _, err = cli(*args(original, tmp_path / "ws", tmp_path / "out"))
    assert code == 2 and err.startswith("error:") and err.strip().count("\n") == 0, err
    assert snapshot(tmp_path) == before and not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["import", "export"])
def test_unknown_format_is_a_usage_error(cli, kind: str) -> None:
    code, _, err = cli(kind, "nope")
    assert code == 2 and "nope" in err


# -- any format: a new one needs nothing in the CLI ------------------------------------------
@dataclasses.dataclass(frozen=True)
class ToySettings:
    """A test format's settings.

    Args:
        scene: A required input.
        name: A required string.
        level: An integer.
        scale: A float.
        flip: A switch.
        extra: An optional path.
        label: An optional string.
    """

    scene: Path
    name: str
    level: int = 2
    scale: float = 0.5
    flip: bool = False
    extra: Optional[Path] = None
    label: str | None = None


class ToyImporter:
    name = "toy"
    description = "A test importer."
    settings = ToySettings
    seen: list = []

    def run(self, ws, settings):
        self.seen.append((ws.root, settings))
        return ImportResult("toy", ("a.png",), 1)


class ToyExporter:
    name = "toy"
    description = "A test exporter without options."
    settings = None
    seen: list = []

    def run(self, ws, out_dir, settings):
        self.seen.append((ws.root, out_dir, settings))
        return ExportResult("toy", out_dir, (out_dir / "toy.bin",), 0, FeatureKey("r", "m"))


def test_settings_fields_become_typed_options(tmp_path: Path) -> None:
    group = typer.Typer()
    add_import(group, ToyImporter())
    group.command("other")(lambda: None)  # a second command keeps `toy` a subcommand
    ToyImporter.seen.clear()
    args = ["toy", "-w", tmp_path / "ws", "--scene", tmp_path, "--name", "n", "--level", "5", "--flip", "--label", "x"]
    result = CliRunner().invoke(group, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    assert "imported 1 images" in result.output
    [(root, settings)] = ToyImporter.seen
    assert root == tmp_path / "ws"
    assert settings == ToySettings(scene=tmp_path, name="n", level=5, scale=0.5, flip=True, extra=None, label="x")
    missing = CliRunner().invoke(group, ["toy", "-w", str(tmp_path / "ws"), "--scene", str(tmp_path)])
    assert missing.exit_code == 2 and "--name" in missing.output
    bad = CliRunner().invoke(group, ["toy", "-w", str(tmp_path / "ws"), "--scene", str(tmp_path), "--name", "n", "--level", "x"])
    assert bad.exit_code == 2


def test_a_format_without_settings_gets_none(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "semlat.json").write_text("{}")
    group = typer.Typer()
    add_export(group, ToyExporter())
    group.command("other")(lambda: None)
    ToyExporter.seen.clear()
    result = CliRunner().invoke(group, ["toy", "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert ToyExporter.seen == [(tmp_path / "ws", tmp_path / "out", None)]
    assert "toy.bin" in result.output
