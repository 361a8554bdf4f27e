"""The original research code's npz files: post-processing, import/export round trip, resume, refusal of bad input."""

from __future__ import annotations

import io
import math
import pickle
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.formats.base import ExportResult, ImportResult
from semlat.formats.original import (
    ORIGINAL_MODEL_KEY,
    ORIGINAL_REGION_SET,
    export_original,
    import_original,
    original_masks_to_binary,
)
from semlat.types import FeatureKey
from semlat.workspace import Workspace
from tests.conftest import snapshot as snapshot_files

# (file name, width, height, mask rectangles as (row0, row1, col0, col1) in the 256 grid, labels)
IMAGES = [
    ("a.png", 40, 30, [(0, 96, 0, 128), (0, 192, 128, 256), (96, 192, 0, 128)], [3, 7, 3]),
    ("b.png", 30, 40, [(0, 128, 0, 96), (128, 256, 0, 192)], [7, 1]),
]
DIM = 8


# -- reference implementation of the original's post-processing ----------------------------------
def reference_box_filter(logits: np.ndarray) -> np.ndarray:
    """4x4 mean with one cell of zero padding on every side, zeros counted (256 -> 255)."""
    size = logits.shape[0]
    padded = np.zeros((size + 2, size + 2))
    padded[1:-1, 1:-1] = logits
    out = np.zeros((size - 1, size - 1))
    for i in range(size - 1):
        for j in range(size - 1):
            out[i, j] = padded[i : i + 4, j : j + 4].sum() / 16.0
    return out


def reference_resize(image: np.ndarray, side: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres (align_corners=False), written out by the formula."""

    def taps(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.maximum((np.arange(side) + 0.5) * n_in / side - 0.5, 0.0)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, src - low

    r0, r1, fr = taps(image.shape[0])
    c0, c1, fc = taps(image.shape[1])
    rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


def reference_weight(logits: np.ndarray, height: int, width: int) -> np.ndarray:
    weight = np.where(reference_box_filter(logits) > 0.5, 0.8, 0.0)
    return reference_resize(weight, max(height, width))[:height, :width]


def test_post_processing_matches_reference() -> None:
    rng = np.random.default_rng(0)
    coarse = rng.normal(size=(2, 16, 16)) * 4
    logits = np.kron(coarse, np.ones((16, 16))) + rng.normal(size=(2, 256, 256))  # blobs, so masks are not noise
    for height, width in [(30, 40), (37, 23), (300, 200)]:
        got = original_masks_to_binary(logits, height, width)
        assert got.shape == (2, height, width) and got.dtype == bool
        for index in range(2):
            weight = reference_weight(logits[index], height, width)
            clear = np.abs(weight - 0.4) > 1e-4  # exact ties may round either way in float32
            assert clear.mean() > 0.99
            np.testing.assert_array_equal(got[index][clear], (weight >= 0.4)[clear])
            assert 0 < got[index].sum() < height * width


@pytest.mark.parametrize(("height", "width"), [(30, 40), (40, 30), (480, 640), (640, 480)])
def test_left_half_of_frame_is_left_half_of_image(height: int, width: int) -> None:
    """By hand: filtered columns 0..126 are inside, so the edge sits where src = 126.5 in the 255 grid."""
    logits = np.full((1, 256, 256), -10.0)
    logits[:, :, :128] = 10.0
    side = max(height, width)
    inside = math.floor(127 * side / 255 - 0.5) + 1
    assert abs(inside - side / 2) <= 1
    expected = np.zeros((height, width), dtype=bool)
    expected[:, :inside] = True
    np.testing.assert_array_equal(original_masks_to_binary(logits, height, width)[0], expected)


def test_top_half_and_exact_half_for_side_40() -> None:
    logits = np.full((1, 256, 256), -10.0)
    logits[:, :128, :] = 10.0
    mask = original_masks_to_binary(logits, 40, 30)[0]
    assert mask[:20].all() and not mask[20:].any()


# -- synthetic original files --------------------------------------------------------------------
def rect_logits(rects: list[tuple[int, int, int, int]]) -> np.ndarray:
    logits = np.full((len(rects), 256, 256), -10.0, dtype=np.float32)
    for index, (r0, r1, c0, c1) in enumerate(rects):
        logits[index, r0:r1, c0:c1] = 10.0
    return logits


def normalised_features(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def write_original_files(folder: Path) -> dict[str, Path]:
    """The three npz files of `IMAGES` and their photos, as the original code leaves them, in ``folder``."""
    rng = np.random.default_rng(1)
    images = folder / "images"
    images.mkdir()
    masks, labels, features = {}, {}, {}
    for name, width, height, rects, image_labels in IMAGES:
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(images / name)
        masks[name] = rect_logits(rects)
        labels[name] = np.array(image_labels, dtype=np.int64)
        features[name] = normalised_features(rng, 1 + len(rects))
    paths = {
        "images": images,
        "masks": folder / "refined_mask.npz",
        "labels": folder / "refined_label.npz",
        "features": folder / "semantic_features.npz",
    }
    np.savez(paths["masks"], **masks)
    np.savez(paths["labels"], **labels)
    np.savez(paths["features"], **features)
    return paths


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return write_original_files(tmp_path)


def run_import(files: dict[str, Path], workspace: Path, *, features: bool = True, **kwargs) -> Workspace:
    """Import the fixture's files into ``workspace`` (created if new); returns the open workspace."""
    ws = Workspace.open_or_create(workspace)
    features_npz = files["features"] if features else None
    import_original(ws, files["images"], files["masks"], files["labels"], features_npz=features_npz, **kwargs)
    return ws


def run_export(workspace: Path, out: Path, **kwargs) -> ExportResult:
    return export_original(Workspace.open(workspace), out, **kwargs)


def row_counts(workspace: Path) -> dict[str, int]:
    ws = Workspace.open(workspace)
    return {name: ws._db.open_table(name).count_rows() for name in ws._db.list_tables().tables}


def snapshot(workspace: Path) -> tuple | None:
    """What a failed import must leave untouched: file list, manifest text, rows per table."""
    if not workspace.exists():
        return None
    names = sorted(str(path.relative_to(workspace)) for path in workspace.rglob("*"))
    return names, (workspace / "semlat.json").read_text(), row_counts(workspace)


# -- import / export -------------------------------------------------------------------------
def test_import_stores_regions_and_features(files: dict[str, Path], tmp_path: Path) -> None:
    ws = Workspace.open_or_create(tmp_path / "ws")
    result = import_original(ws, files["images"], files["masks"], files["labels"], features_npz=files["features"])
    assert result == ImportResult(
        "original", ("a.png", "b.png"), 2, ORIGINAL_REGION_SET, FeatureKey(ORIGINAL_REGION_SET, ORIGINAL_MODEL_KEY)
    )
    records = {record.file_name: record for record in ws.images()}
    assert sorted(records) == ["a.png", "b.png"]
    assert (records["a.png"].width, records["a.png"].height) == (40, 30)
    regions = ws.regions(ORIGINAL_REGION_SET, records["a.png"])
    assert [region.region_id for region in regions] == [0, 1, 2]
    assert [region.label for region in regions] == [3, 7, 3]
    # (0, 96, 0, 128) in the 256 grid of a 40-wide image: cells of 40/256 px -> about rows 0..15, cols 0..20
    x, y, w, h = regions[0].bbox
    assert (x, y) == (0, 0) and abs(w - 20) <= 1 and abs(h - 15) <= 1
    ids, vectors = ws.embeddings(FeatureKey(ORIGINAL_REGION_SET, ORIGINAL_MODEL_KEY), records["b.png"])
    assert ids.tolist() == [-1, 0, 1] and vectors.shape == (3, DIM)


def test_round_trip(files: dict[str, Path], tmp_path: Path) -> None:
    run_import(files, tmp_path / "ws")
    result = run_export(tmp_path / "ws", tmp_path / "out")
    out = tmp_path / "out"
    assert result == ExportResult(
        "original",
        out,
        (out / "semantic_features.npz", out / "refined_label.npz"),
        2,
        FeatureKey(ORIGINAL_REGION_SET, ORIGINAL_MODEL_KEY),
    )
    with np.load(out / "semantic_features.npz") as got, np.load(files["features"]) as want:
        assert sorted(got.files) == sorted(want.files)
        for name in want.files:
            assert got[name].dtype == np.float32
            np.testing.assert_allclose(got[name], want[name], atol=1e-6)
    with np.load(out / "refined_label.npz") as got, np.load(files["labels"]) as want:
        assert sorted(got.files) == sorted(want.files)
        for name in want.files:
            assert got[name].dtype == np.int64
            np.testing.assert_array_equal(got[name], want[name])
    assert sorted(path.name for path in out.iterdir()) == ["refined_label.npz", "semantic_features.npz"]


@pytest.mark.parametrize("name", ["semantic_features.npz", "refined_label.npz"])
def test_export_writes_what_np_savez_writes(files: dict[str, Path], tmp_path: Path, monkeypatch, name: str) -> None:
    """The streamed npz is byte for byte the file np.savez makes of the same arrays (zip times fixed)."""
    monkeypatch.setattr(zipfile, "time", SimpleNamespace(time=lambda: 1_700_000_000.0, localtime=time.localtime))
    run_import(files, tmp_path / "ws")
    run_export(tmp_path / "ws", tmp_path / "out")
    with np.load(tmp_path / "out" / name) as got:
        arrays = {key: got[key] for key in got.files}
    assert list(arrays) == ["a.png", "b.png"]
    np.savez(tmp_path / "savez.npz", **arrays)
    assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "savez.npz").read_bytes()


def test_reimport_is_a_no_op(files: dict[str, Path], tmp_path: Path) -> None:
    run_import(files, tmp_path / "ws")
    before = row_counts(tmp_path / "ws")
    manifest = (tmp_path / "ws" / "semlat.json").read_text()
    ws = Workspace.open(tmp_path / "ws")
    result = import_original(ws, files["images"], files["masks"], files["labels"], features_npz=files["features"])
    assert result.images == ("a.png", "b.png") and result.written == 0
    assert row_counts(tmp_path / "ws") == before
    assert before["regions"] == 5 and before["embeddings"] == 7 and before["images"] == 2
    assert (tmp_path / "ws" / "semlat.json").read_text() == manifest


def test_features_can_follow_masks(files: dict[str, Path], tmp_path: Path) -> None:
    run_import(files, tmp_path / "ws", features=False)
    with pytest.raises(SemlatError, match="no matching embeddings"):
        run_export(tmp_path / "ws", tmp_path / "out")
    run_import(files, tmp_path / "ws")
    assert row_counts(tmp_path / "ws")["embeddings"] == 7


def test_export_asks_which_of_several_keys(files: dict[str, Path], tmp_path: Path) -> None:
    run_import(files, tmp_path / "ws")
    run_import(files, tmp_path / "ws", model_key="other")
    with pytest.raises(SemlatError, match="several feature sets"):
        run_export(tmp_path / "ws", tmp_path / "out")
    result = run_export(tmp_path / "ws", tmp_path / "out", key=FeatureKey(ORIGINAL_REGION_SET, "other"))
    assert result.feature_key == FeatureKey(ORIGINAL_REGION_SET, "other") and all(path.is_file() for path in result.files)
    with pytest.raises(SemlatError, match="no features original/missing/raw in"):
        run_export(tmp_path / "ws", tmp_path / "out", key=FeatureKey(ORIGINAL_REGION_SET, "missing"))


@pytest.mark.parametrize("existing", [False, True], ids=["new output folder", "existing output folder"])
def test_export_refusing_an_image_leaves_the_output_folder(files: dict[str, Path], tmp_path: Path, existing: bool) -> None:
    ws = run_import(files, tmp_path / "ws", features=False)
    key = FeatureKey(ORIGINAL_REGION_SET, "partial")
    ws.claim_config("feature_sets", str(key), {"strategy": "test"}, hint="")
    record = ws.image("a.png")
    ws.write_embeddings(key, record.image_id, [-1, 0, 1, 2], np.eye(4, DIM, dtype=np.float32))
    out = tmp_path / "out" / "nested"
    if existing:
        out.mkdir(parents=True)
        (out / "semantic_features.npz").write_bytes(b"an older export")
    before = snapshot_files(tmp_path / "out")
    with pytest.raises(SemlatError, match="b.png"):
        run_export(tmp_path / "ws", out)
    assert snapshot_files(tmp_path / "out") == before
    assert (tmp_path / "out").exists() == existing


def test_export_to_a_file_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    run_import(files, tmp_path / "ws")
    (tmp_path / "out").write_bytes(b"not a folder")
    with pytest.raises(SemlatError, match="is a file"):
        run_export(tmp_path / "ws", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"not a folder"


# -- bad input -------------------------------------------------------------------------------
def rewrite(path: Path, name: str, value: np.ndarray | None) -> None:
    """Replace (or drop, if None) one entry of an npz."""
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if value is None:
        del arrays[name]
    else:
        arrays[name] = value
    np.savez(path, **arrays)


def missing_image(files: dict[str, Path]) -> None:
    (files["images"] / "b.png").unlink()


def unreadable_image(files: dict[str, Path]) -> None:
    (files["images"] / "b.png").write_bytes(np.random.default_rng(2).bytes(500))


def truncated_masks(files: dict[str, Path]) -> None:
    data = files["masks"].read_bytes()
    files["masks"].write_bytes(data[: len(data) // 2])


def truncated_features(files: dict[str, Path]) -> None:
    data = files["features"].read_bytes()
    files["features"].write_bytes(data[: len(data) // 2])


def forged_header(files: dict[str, Path]) -> None:
    """A masks entry whose header announces a 244 GiB array over a few bytes of data."""
    with np.load(files["masks"]) as masks:
        arrays = {key: masks[key] for key in masks.files}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (1_000_000, 256, 256)})
    with zipfile.ZipFile(files["masks"], "w") as archive:
        for key, array in arrays.items():
            if key == "b.png":
                archive.writestr(f"{key}.npy", buffer.getvalue() + bytes(64))
            else:
                with archive.open(f"{key}.npy", "w") as member:
                    np.lib.format.write_array(member, array)


def pickled_masks(files: dict[str, Path]) -> None:
    files["masks"].write_bytes(pickle.dumps({"a.png": [1, 2, 3]}, protocol=2))


def text_labels(files: dict[str, Path]) -> None:
    files["labels"].write_text("a.png 1 2\n")


def single_array_labels(files: dict[str, Path]) -> None:
    with open(files["labels"], "wb") as handle:
        np.save(handle, np.arange(3))


def label_count(files: dict[str, Path]) -> None:
    rewrite(files["labels"], "b.png", np.array([7], dtype=np.int64))


def labels_missing(files: dict[str, Path]) -> None:
    rewrite(files["labels"], "b.png", None)


def masks_missing(files: dict[str, Path]) -> None:
    rewrite(files["masks"], "b.png", None)


def mask_shape(files: dict[str, Path]) -> None:
    rewrite(files["masks"], "b.png", np.zeros((2, 128, 128), dtype=np.float32))


def empty_mask(files: dict[str, Path]) -> None:
    logits = rect_logits(IMAGES[1][3])
    logits[1] = -10.0
    rewrite(files["masks"], "b.png", logits)


def mask_outside_image(files: dict[str, Path]) -> None:
    rewrite(files["masks"], "a.png", rect_logits([(0, 96, 0, 128), (0, 192, 128, 256), (200, 256, 0, 256)]))


def feature_rows(files: dict[str, Path]) -> None:
    rewrite(files["features"], "b.png", normalised_features(np.random.default_rng(3), 2))


def feature_dim(files: dict[str, Path]) -> None:
    rewrite(files["features"], "b.png", np.ones((3, DIM + 1), dtype=np.float32))


def feature_nan(files: dict[str, Path]) -> None:
    vectors = normalised_features(np.random.default_rng(3), 3)
    vectors[1, 2] = np.nan
    rewrite(files["features"], "b.png", vectors)


def features_missing_image(files: dict[str, Path]) -> None:
    rewrite(files["features"], "b.png", None)


BAD_INPUTS: list[tuple[Callable[[dict[str, Path]], None], str]] = [
    (missing_image, r"not in .*images \(first: b\.png\)"),
    (unreadable_image, r"b\.png cannot be read"),
    (truncated_masks, r"refined_mask\.npz is truncated or not an npz file"),
    (truncated_features, r"semantic_features\.npz is truncated or not an npz file"),
    (
        forged_header,
        r"entry 'b\.png' of masks file .* announces a \(1000000, 256, 256\) float32 array \(244 GiB\) but holds 64 bytes",
    ),
    (pickled_masks, r"refined_mask\.npz is not an npz file \(pickled or other data, never unpickled\)"),
    (text_labels, r"refined_label\.npz is not an npz file"),
    (single_array_labels, r"refined_label\.npz is a single \.npy array"),
    (label_count, r"b\.png: 2 masks .* labels of shape \(1,\)"),
    (labels_missing, r"no labels .*b\.png"),
    (masks_missing, r"no masks .*b\.png"),
    (mask_shape, r"masks of b\.png .*shape \(2, 128, 128\)"),
    (empty_mask, r"mask 1 of b\.png is empty"),
    (mask_outside_image, r"mask 2 of a\.png is empty"),
    (feature_rows, r"features of b\.png .*shape \(2, 8\), expected \(3, D\)"),
    (feature_dim, r"9-d but earlier ones are 8-d"),
    (feature_nan, r"features of b\.png .*NaN"),
    (features_missing_image, r"b\.png has no features"),
]


@pytest.mark.parametrize(("corrupt", "message"), BAD_INPUTS, ids=[corrupt.__name__ for corrupt, _ in BAD_INPUTS])
def test_bad_input_creates_no_workspace(files: dict[str, Path], tmp_path: Path, corrupt, message: str) -> None:
    corrupt(files)
    with pytest.raises(SemlatError, match=message) as info:
        run_import(files, tmp_path / "ws")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize(("corrupt", "message"), BAD_INPUTS, ids=[corrupt.__name__ for corrupt, _ in BAD_INPUTS])
def test_bad_input_leaves_workspace_as_it_was(files: dict[str, Path], tmp_path: Path, corrupt, message: str) -> None:
    workspace = tmp_path / "ws"
    run_import(files, workspace)
    before = snapshot(workspace)
    corrupt(files)
    with pytest.raises(SemlatError, match=message):
        run_import(files, workspace, region_set="other", model_key="other")
    assert snapshot(workspace) == before


def test_conflicting_settings_leave_workspace_as_it_was(files: dict[str, Path], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    run_import(files, workspace, features=False)
    before = snapshot(workspace)
    other_masks = tmp_path / "copy_of_masks.npz"
    other_masks.write_bytes(files["masks"].read_bytes())
    with pytest.raises(SemlatError, match="other settings"):
        run_import({**files, "masks": other_masks}, workspace)
    assert snapshot(workspace) == before


def test_other_dimension_leaves_workspace_as_it_was(files: dict[str, Path], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    run_import(files, workspace)
    before = snapshot(workspace)
    wide = {name: np.ones((1 + len(rects), DIM + 1), dtype=np.float32) for name, _, _, rects, _ in IMAGES}
    np.savez(files["features"], **wide)
    with pytest.raises(SemlatError, match="holds 8-d features"):
        run_import(files, workspace, region_set="other")
    assert snapshot(workspace) == before


def test_changed_photo_leaves_workspace_as_it_was(files: dict[str, Path], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    run_import(files, workspace)
    before = snapshot(workspace)
    Image.fromarray(np.zeros((40, 30, 3), dtype=np.uint8)).save(files["images"] / "b.png")
    with pytest.raises(SemlatError, match="b.png differs"):
        run_import(files, workspace, region_set="other")
    assert snapshot(workspace) == before
