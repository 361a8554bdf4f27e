"""`semlat label`: options reach the stage, the result is printed."""

from __future__ import annotations

from pathlib import Path

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
