"""The command line end to end: the main job, resuming after a crash, and every bad input."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.workspace import Workspace
from tests.conftest import snapshot


def _model_args(checkpoint: Path) -> list[str]:
    """The random-weight test CLIP on the CPU, with the fast weight-free regions."""
    return ["--model", "semlat-tiny", "--pretrained", str(checkpoint), "--device", "cpu", "--backend", "classical"]


def test_run_writes_heatmaps_segmentation_and_maps(cli, tmp_path, images_dir, tiny_checkpoint):
    ws, out = tmp_path / "ws", tmp_path / "out"
    code, _, err = cli("run", images_dir, "-w", ws, "-o", out, "--prompts", "red box,ground", *_model_args(tiny_checkpoint))
    assert code == 0, err
    for stem in ("view_00", "view_01", "view_02"):
        for name in ("red-box.png", "ground.png", "segmentation.png"):
            assert Image.open(out / stem / name).size[0] > 0
        assert Image.open(out / stem / "red-box.png").size == (96, 72)
    code, _, err = cli(
        "query", "-w", ws, "-o", out, "--prompts", "a,b,c", "--image", "view_01.png", "--save-maps", "--device", "cpu"
    )
    assert code == 0, err
    maps = np.load(out / "view_01" / "maps.npy")
    assert maps.shape == (3, 72, 96)
    np.testing.assert_allclose(maps.sum(axis=0), 1.0, atol=1e-5)  # softmax over prompts


def _table_contents(path: Path) -> dict[str, list]:
    ws = Workspace.open(path)
    contents = {}
    for table in ("images", "regions", "embeddings", "units"):
        rows = ws.rows(table).to_pylist()
        for row in rows:
            row.pop("path", None)  # the two workspaces read the same photos from the same folder anyway
        contents[table] = sorted(rows, key=repr)
    return contents


class SimulatedKill(BaseException):
    """Stands in for SIGKILL: nothing after it runs, and no handler in the CLI catches it."""


def test_a_run_killed_mid_image_resumes_to_the_same_workspace(cli, tmp_path, images_dir, tiny_checkpoint, monkeypatch):
    args = ["--prompts", "x", "-o", tmp_path / "out", *_model_args(tiny_checkpoint)]
    assert cli("run", images_dir, "-w", tmp_path / "clean", *args)[0] == 0

    calls = {"n": 0}
    original = Workspace._mark_done

    def killed_on_fifth(self, stage, image_id):
        calls["n"] += 1
        if calls["n"] == 5:  # the 2nd image's embeddings are stored, its ledger entry is not
            raise SimulatedKill
        original(self, stage, image_id)

    monkeypatch.setattr(Workspace, "_mark_done", killed_on_fifth)
    with pytest.raises(SimulatedKill):
        cli("run", images_dir, "-w", tmp_path / "crashed", *args)
    monkeypatch.setattr(Workspace, "_mark_done", original)
    assert cli("run", images_dir, "-w", tmp_path / "crashed", *args)[0] == 0
    assert _table_contents(tmp_path / "crashed") == _table_contents(tmp_path / "clean")


def _corrupt_folder(images_dir: Path) -> Path:
    (images_dir / "view_99.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return images_dir


BAD_INPUTS = {
    "missing image folder": (lambda d, c: ["masks", d.parent / "nowhere"], "does not exist"),
    "unreadable image": (lambda d, c: ["masks", _corrupt_folder(d)], "cannot be read"),
    "unknown backend": (lambda d, c: ["masks", d, "--backend", "nope"], "unknown region backend"),
    "option of another backend": (lambda d, c: ["masks", d, "--backend", "classical", "--prompt", "points"], "does not apply"),
    "option of another mode": (lambda d, c: ["masks", d, "--mode", "automatic", "--batch-size", "2"], "does not apply"),
    "zero prompts": (lambda d, c: ["query", "-o", d.parent / "o", "--prompts", " , "], "no prompts"),
    "unknown model name": (lambda d, c: ["embed", "--model", "ViT-Nope", "--pretrained", str(c)], "unknown model"),
    "missing checkpoint": (
        lambda d, c: ["embed", "--model", "semlat-tiny", "--pretrained", str(d / "none.pt")],
        "does not exist",
    ),
    "unknown pretrained tag": (lambda d, c: ["embed", "--model", "semlat-tiny", "--pretrained", "laion"], "no pretrained tag"),
    "run with missing checkpoint": (
        lambda d, c: ["run", d, "--prompts", "a", "--model", "semlat-tiny", "--pretrained", str(d / "none.pt")],
        "does not exist",
    ),
    "unknown image in query": (
        lambda d, c: ["query", "-o", d.parent / "o", "--prompts", "a", "--image", "zzz.png"],
        "no image named",
    ),
}


NEED_A_WORKSPACE = {
    "zero prompts",
    "unknown model name",
    "missing checkpoint",
    "unknown pretrained tag",
    "unknown image in query",
}
CASES = [(case, existing) for case in BAD_INPUTS for existing in (False, True) if existing or case not in NEED_A_WORKSPACE]


@pytest.mark.parametrize(("case", "existing"), CASES, ids=[f"{c} ({'existing' if e else 'new'} workspace)" for c, e in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_the_workspace(case, existing, cli, tmp_path, images_dir, tiny_checkpoint):
    ws = tmp_path / "ws"
    if existing:
        code, _, err = cli("run", images_dir, "-w", ws, "--prompts", "a", "-o", tmp_path / "o", *_model_args(tiny_checkpoint))
        assert code == 0, err
    before = snapshot(ws)
    make_args, message = BAD_INPUTS[case]
    code, _, err = cli(*make_args(images_dir, tiny_checkpoint), "-w", ws)
    assert code == 2
    assert err.startswith("error:") and err.strip().count("\n") == 0 and message in err, err
    assert snapshot(ws) == before


def test_masks_options_reach_the_backend_and_help_shows_the_settings_defaults(cli, tmp_path, images_dir, monkeypatch):
    from semlat.regions.classical import ClassicalProposer, ClassicalSettings
    from semlat.regions.clustered import ClusteredSettings

    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = cli("masks", "--help")
    assert code == 0 and "per label, evenly spread over its cells (0: every cell, as the original)." in out
    assert f"[default: {ClusteredSettings().max_points}]" in out and "--keep-latents" in out
    args = ["masks", images_dir, "-w", tmp_path / "ws", "--backend", "classical", "--method", "slic", "--max-regions", "3"]
    code, out, err = cli(*args)
    assert code == 0 and "regions of 3 images" in out, err
    ws = Workspace.open(tmp_path / "ws")
    expected = ClassicalProposer(ClassicalSettings(method="slic", max_regions=3)).config()
    assert ws.manifest.region_sets["classical"] == {"backend": "classical", "params": expected}
    assert {len(ws.regions("classical", record)) for record in ws.images()} == {3}
