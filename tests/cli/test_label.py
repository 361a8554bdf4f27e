"""`semlat label`: options reach the stage, the result is printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from semlat.workspace import Workspace
from tests.stages.consistency.conftest import basis, build_workspace, unit


def test_label_clusters_clip_features_and_prints_what_it_did(cli, tmp_path):
    # regions 0 and 2 of every image look alike, region 1 is another thing; the stored labels are all wrong
    vectors = [[unit(basis(0) + 0.1 * basis(3)), basis(1), unit(basis(0) - 0.1 * basis(3))]] * 4
    ws = build_workspace(tmp_path, [[5, 5, 5]] * 4, vectors)
    code, out, err = cli("label", "-w", ws.root, "--method", "kmeans", "--labels", "2")
    assert code == 0, err
    assert "2 labels over 12 regions of 4 images (kmeans, clip descriptors)" in out
    relabelled = Workspace.open(ws.root)
    for record in relabelled.images():
        first, second, third = (r.label for r in relabelled.regions("test", record))
        assert first == third != second and {first, second} == {0, 1}


def test_label_options_reach_the_stage(cli, tmp_path, monkeypatch):
    from semlat.stages import label
    from semlat.stages.label import LabelResult

    calls = []

    def fake(ws, region_set, **options):
        calls.append((ws.root, region_set, options))
        return LabelResult("rs", "sam", 3, 7, 2, "appearance")

    monkeypatch.setattr(label, "label_regions", fake)
    ws = build_workspace(tmp_path, [[0]], None)
    args = [
        "--region-set",
        "rs",
        "--method",
        "appearance",
        "--labels",
        "3",
        "--descriptor",
        "sam",
        "--checkpoint",
        tmp_path / "m.pt",
        "--device",
        "cpu",
    ]
    code, out, err = cli("label", "-w", ws.root, *args)
    assert code == 0, err
    assert "3 labels over 7 regions of 2 images (appearance, sam descriptors)" in out
    options = {
        "method": "appearance",
        "n_labels": 3,
        "descriptor": "sam",
        "feature_set": None,
        "checkpoint": Path(tmp_path / "m.pt"),
        "device": "cpu",
    }
    assert calls == [(ws.root, "rs", options)]


@pytest.fixture
def toy_workspace(tmp_path):
    """A 3-view hard toy scene (COLMAP model with SfM points) and a workspace of its true masks without ids."""
    from semlat.imageio import list_images
    from semlat.ingest import scan_images
    from semlat_toy import read_ground_truth, write_scene
    from semlat_toy.instances import unlabelled_regions
    from semlat_toy.scene import WORLDS

    scene = write_scene(tmp_path / "scene", 1, n_views=3, width=96, height=72, world=WORLDS["hard"])
    ws = Workspace.open_or_create(tmp_path / "ws")
    ws.claim_config("region_sets", "test", {"backend": "test"}, hint="")
    records = ws.add_images(scan_images(list_images(scene / "images")))
    for record, instance in zip(records, read_ground_truth(scene).instances):
        ws.write_regions("test", record.image_id, unlabelled_regions(instance))
    return scene, ws.root


def test_label_reads_a_colmap_model_and_links_regions_by_its_tracks(cli, toy_workspace):
    scene, root = toy_workspace
    code, out, err = cli("label", "-w", root, "--colmap", scene / "sparse" / "0")
    assert code == 0, err
    assert "(tracks)" in out
    ws = Workspace.open(root)
    assert ws.has_tracks() and ws.manifest.labels["test"]["method"] == "tracks"
    labels = [r.label for record in ws.images() for r in ws.regions("test", record)]
    assert min(labels) == 0 and len(set(labels)) < len(labels)  # views were joined


def break_text(model: Path) -> None:
    (model / "images.txt").unlink()


def break_names(model: Path) -> None:
    text = (model / "images.txt").read_text().replace("view_01.png", "missing.png")
    (model / "images.txt").write_text(text)


def break_binary(model: Path) -> None:
    import pycolmap

    reconstruction = pycolmap.Reconstruction(str(model))
    for name in ("cameras.txt", "images.txt", "points3D.txt"):
        (model / name).unlink()
    reconstruction.write_binary(str(model))
    data = (model / "points3D.bin").read_bytes()
    (model / "points3D.bin").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [break_text, break_names, break_binary], ids=["no-images.txt", "names", "truncated"])
def test_a_broken_colmap_model_is_one_line_and_leaves_the_labels(cli, toy_workspace, tmp_path, damage):
    import shutil
    from dataclasses import replace

    from tests.conftest import snapshot

    scene, root = toy_workspace
    ws = Workspace.open(root)
    for record in ws.images():  # labels from an earlier run
        ws.write_regions("test", record.image_id, [replace(r, label=7) for r in ws.regions("test", record)])
    model = tmp_path / "broken"
    shutil.copytree(scene / "sparse" / "0", model)
    damage(model)
    before = snapshot(root)
    code, _, err = cli("label", "-w", root, "--colmap", model)
    assert code == 2 and err.startswith("error:") and err.strip().count("\n") == 0, err
    assert snapshot(root) == before
