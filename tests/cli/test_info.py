"""`semlat info`: what a workspace holds."""

from __future__ import annotations

from semlat.workspace import Workspace
from tests.stages.consistency.conftest import KEY, basis, build_workspace


def test_info_lists_images_region_sets_and_features(cli, tmp_path):
    ws = build_workspace(tmp_path, [[0, 1], [1]], [[basis(0), basis(1)], [basis(1)]])
    ws.claim_config("region_sets", "classical", {"backend": "classical"}, hint="")
    code, out, err = cli("info", "-w", ws.root)
    assert code == 0, err
    assert out.splitlines() == ["2 images; region sets: classical, test", f"features: {KEY} ({{'strategy': 'test'}})"]


def test_an_empty_workspace_holds_nothing(cli, tmp_path):
    Workspace.open_or_create(tmp_path / "ws").save_manifest()
    code, out, err = cli("info", "-w", tmp_path / "ws")
    assert code == 0, err
    assert out == "0 images; region sets: none\n"


def test_no_workspace_is_one_error_line(cli, tmp_path):
    code, out, err = cli("info", "-w", tmp_path)
    assert code == 2 and out == "" and err.startswith("error:") and "not a semlat workspace" in err
    assert err.strip().count("\n") == 0


def test_a_scene_is_listed(cli, tmp_path, images_dir):
    from tests.scenes import POINTS_PER_IMAGE, colmap_scene

    colmap_scene(images_dir, tmp_path / "scene")
    assert cli("masks", tmp_path / "scene", "-w", tmp_path / "ws", "--backend", "classical", "--max-regions", "2")[0] == 0
    code, out, err = cli("info", "-w", tmp_path / "ws")
    assert code == 0, err
    source = (tmp_path / "scene").resolve()
    assert out.splitlines()[-1] == f"scene: colmap {source} (3 cameras, {3 * POINTS_PER_IMAGE} SfM observations)"
