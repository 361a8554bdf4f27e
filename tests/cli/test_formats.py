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
    (tmp_path / "ws" / "db").mkdir()  # a workspace's database folder is made before its manifest
    group = typer.Typer()
    add_export(group, ToyExporter())
    group.command("other")(lambda: None)
    ToyExporter.seen.clear()
    result = CliRunner().invoke(group, ["toy", "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert ToyExporter.seen == [(tmp_path / "ws", tmp_path / "out", None)]
    assert "toy.bin" in result.output


# -- into the 3D pipelines: a COLMAP toy scene through run, label and the three exports -------
@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, tiny_checkpoint) -> tuple[Path, Path]:
    """A toy scene written as a COLMAP folder, after `semlat run` and `semlat label` (scene, workspace)."""
    from semlat.encoders import ModelSpec
    from semlat.pipeline import run_pipeline
    from semlat.stages.label import label_regions
    from semlat.workspace import Workspace
    from semlat_toy.io import write_scene

    root = tmp_path_factory.mktemp("toy")
    scene = write_scene(root / "scene", seed=1, n_views=3, width=64, height=48)
    ws = Workspace.open_or_create(root / "ws")
    model = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    run_pipeline(ws, scene, ["a"], root / "answers", backend="classical", model=model, device="cpu")
    label_regions(ws, "classical", n_labels=4, descriptor="clip", device="cpu")
    return scene, root / "ws"


def test_a_colmap_scene_goes_run_then_export_into_each_pipeline(cli, toy_run, tmp_path) -> None:
    import shutil

    import pycolmap
    import torch

    from semlat.workspace import Workspace
    from tests.formats.test_feature_3dgs import read_semantic_features
    from tests.formats.test_gaussian_grouping import read_objects
    from tests.formats.test_langsplat import get_language_feature

    scene = tmp_path / "scene"
    shutil.copytree(toy_run[0], scene)
    workspace = toy_run[1]
    for fmt in ("langsplat", "feature-3dgs", "gaussian-grouping"):
        code, out, err = cli("export", fmt, "-w", workspace, "-o", scene)
        assert code == 0 and "for 3 images" in out, err
    ws = Workspace.open(workspace)
    key = ws.feature_key()
    labels = sorted(set(ws.region_columns("classical").column("label").to_pylist()))
    ids = {label: index + 1 for index, label in enumerate(labels)}
    assert len(ids) > 1 and min(ids) >= 0
    names = [image.name for image in pycolmap.Reconstruction(str(scene / "sparse" / "0")).images.values()]
    fmaps, dim = read_semantic_features(str(scene / "rgb_feature_langseg"), names)
    assert dim == ws.manifest.embedding_dim
    for name in names:
        record = ws.image(name)
        regions, vectors = ws.regions_and_features(key, record)
        masks = [region.mask() for region in regions]
        y, x = 24, 32
        over = [i for i, mask in enumerate(masks) if mask[y, x]]
        smallest = min(over, key=lambda i: (regions[i].area, -i)) if over else None
        feature, mask = get_language_feature(str(scene / "language_features"), name.split(".")[0], 0, 48, 64)
        assert bool(mask[0, y, x]) == (smallest is not None)
        if smallest is not None:
            np.testing.assert_array_equal(feature[:, y, x].numpy(), vectors[1 + smallest])
        expected = vectors[0] + 0.8 * vectors[1:][over].sum(axis=0)
        fmap = fmaps[name.split(".")[0]]  # 480x360: its pixel (180, 240) has its centre in pixel (24, 32)
        assert tuple(fmap.shape) == (dim, 360, 480)
        np.testing.assert_allclose(fmap[:, 180, 240].float().numpy(), expected / np.linalg.norm(expected), atol=2e-3)
        _, objects = read_objects(str(scene / "object_mask"), name)
        assert objects.shape == (48, 64) and objects.dtype == torch.uint8
        assert int(objects[y, x]) == (0 if smallest is None else ids[regions[smallest].label])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "gaussian-grouping", "--level", "9"], "no regions of level 9"),
        (["export", "feature-3dgs", "--level", "9"], "no regions of level 9"),
        (["export", "langsplat", "--features", "smoothed"], "no matching embeddings"),
        (["export", "langsplat", "--resolution", "0"], "resolution 0"),
    ],
    ids=["gaussian-grouping level", "feature-3dgs level", "no such features", "bad resolution"],
)
def test_bad_export_options_are_one_line_and_write_nothing(cli, toy_run, tmp_path, args, message) -> None:
    code, _, err = cli(*args, "-w", toy_run[1], "-o", tmp_path / "out")
    assert code == 2 and err.startswith("error:") and err.strip().count("\n") == 0 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_workspace_without_embeddings_exports_nothing(cli, tmp_path, images_dir) -> None:
    assert cli("masks", images_dir, "-w", tmp_path / "ws", "--backend", "classical", "--max-regions", "2")[0] == 0
    for fmt in ("langsplat", "feature-3dgs"):
        code, _, err = cli("export", fmt, "-w", tmp_path / "ws", "-o", tmp_path / "out")
        assert code == 2 and "run `semlat embed` first" in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "out").exists()
