"""`semlat metrics`, `smooth` and `refine` on small hand-built workspaces."""

import json

import pytest

from semlat.workspace import Workspace
from tests.stages.consistency.conftest import KEY, basis, build_workspace


@pytest.fixture
def make_ws(tmp_path):
    return lambda labels, vectors: build_workspace(tmp_path, labels, vectors)


def test_commands_end_to_end(make_ws, cli, tmp_path):
    ws = make_ws([[0, 1, 2]] * 4, [[basis(0), basis(1), basis(2)]] * 4)
    code, out, err = cli("metrics", "-w", ws.root, "-o", tmp_path / "m")
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["summary"]["labels"] == 3
    assert (tmp_path / "m" / "report.html").is_file()
    assert cli("smooth", "-w", ws.root, "--method", "knn", "--alpha", "0.5")[0] == 0
    assert cli("metrics", "-w", ws.root, "-o", tmp_path / "s", "--features", "smoothed")[0] == 0
    code, out, _ = cli("refine", "-w", ws.root, "--features", "raw", "--dry-run")
    assert code == 0 and "no change" in out


@pytest.mark.parametrize("command", [["metrics", "-o", "OUT"], ["smooth"], ["refine"]])
def test_bad_workspaces_exit_2_with_one_line(make_ws, cli, tmp_path, command):
    empty = tmp_path / "empty"
    Workspace.open_or_create(empty).save_manifest()
    args = [a if a != "OUT" else str(tmp_path / "out") for a in command]
    code, _, err = cli(args[0], "-w", empty, *args[1:])
    assert code == 2 and "no images" in err
    unlabelled = make_ws([[-1, -1]], [[basis(0), basis(1)]])
    code, _, err = cli(args[0], "-w", unlabelled.root, *args[1:])
    assert code == 2 and "cross-view label" in err


def test_metrics_prints_the_summary_and_can_skip_the_hints(make_ws, cli, tmp_path):
    ws = make_ws([[0, 1, 2]] * 4, [[basis(0), basis(1), basis(2)]] * 4)
    code, out, err = cli("metrics", "-w", ws.root, "-o", tmp_path / "m", "--no-hints")
    assert code == 0, err
    flat = " ".join(out.split())
    assert f"3 labels over 12 regions ({KEY}): mean cosine to prototype 1.0000" in flat
    assert f"report: {tmp_path / 'm' / 'report.html'}" in out.replace("\n", "")
    assert (tmp_path / "m" / "report.html").is_file() and not (tmp_path / "m" / "hints").exists()


def test_smooth_options_reach_the_stage(make_ws, cli, monkeypatch):
    from semlat.stages import consistency

    ws = make_ws([[0, 1]] * 2, [[basis(0), basis(1)]] * 2)
    calls = []
    monkeypatch.setattr(consistency, "smooth_features", lambda ws, **options: calls.append(options) or "KEY")
    args = ["--method", "knn", "--alpha", "0.25", "--k", "3", "--no-keep-outliers", "--out-features", "soft"]
    code, out, err = cli("smooth", "-w", ws.root, *args)
    assert code == 0 and "features KEY in" in out, err
    assert calls == [{"key": KEY, "method": "knn", "alpha": 0.25, "k": 3, "keep_outliers": False, "out_feature_set": "soft"}]


def test_refine_writes_the_new_region_set_and_prints_the_plan(make_ws, cli):
    # labels 0 and 1 have the same vector in every image: they merge into 0
    ws = make_ws([[0, 1, 2]] * 3, [[basis(0), basis(0), basis(2)]] * 3)
    code, out, err = cli("refine", "-w", ws.root, "--dry-run")
    assert code == 0, err
    assert "label 0 absorbs 1 (3 regions relabelled)" in out and "would write region set test-refined" in out
    assert Workspace.open(ws.root).region_sets() == ["test"]
    code, out, err = cli("refine", "-w", ws.root, "--merge-threshold", "0.5", "--out-region-set", "merged")
    assert code == 0, err
    assert f"region set merged in {ws.root}; features: merged/{KEY.model_key}/raw" in out.replace("\n", "")
    refined = Workspace.open(ws.root)
    assert refined.region_sets() == ["merged", "test"]
    assert refined.manifest.region_sets["merged"]["merge_threshold"] == 0.5
    assert [r.label for r in refined.regions("merged", refined.images()[0])] == [0, 2]
