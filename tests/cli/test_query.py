"""`semlat run` and `semlat query`: the main job end to end, resuming after a crash, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.stages.query.render import STRIP_MIN_WIDTH
from semlat.workspace import Workspace
from tests.cli.conftest import model_args


def test_run_writes_heatmaps_segmentation_and_maps(cli, tmp_path, images_dir, tiny_checkpoint):
    ws, out = tmp_path / "ws", tmp_path / "out"
    code, stdout, err = cli("run", images_dir, "-w", ws, "-o", out, "--prompts", "red box,ground", *model_args(tiny_checkpoint))
    assert code == 0, err
    assert f"query results in {out}" in stdout.replace("\n", "")
    for stem in ("view_00", "view_01", "view_02"):
        assert sorted(p.name for p in (out / stem).iterdir()) == ["ground.png", "red-box.png", "segmentation.png"]
        for name in ("red-box.png", "ground.png"):
            width, height = Image.open(out / stem / name).size  # the photo at its own size above a colour bar
            assert width == max(96, STRIP_MIN_WIDTH) and height > 72
        assert Image.open(out / stem / "segmentation.png").format == "PNG"
    code, _, err = cli(
        "query", "-w", ws, "-o", out, "--prompts", "a,b,c", "--image", "view_01.png", "--save-maps", "--device", "cpu"
    )
    assert code == 0, err
    maps = np.load(out / "view_01" / "maps.npy")
    assert maps.shape == (3, 72, 96)
    np.testing.assert_allclose(maps.sum(axis=0), 1.0, atol=1e-5)  # softmax over prompts
    assert not (out / "view_00" / "maps.npy").exists()  # --image picked one photo


def test_query_options_reach_the_stage(cli, tmp_path, run_workspace, monkeypatch):
    from semlat.encoders import ModelSpec
    from semlat.stages import query

    calls = []
    monkeypatch.setattr(query, "query_to_files", lambda ws, prompts, output, **options: calls.append((prompts, output, options)))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ceiling\nground, ceiling\n")
    args = ["-o", tmp_path / "out", "--prompts-file", prompts, "--image", "view_00.png", "--image", "view_02.png", "--level", "0"]
    code, _, err = cli(
        "query", "-w", run_workspace, *args, "--fusion", "region", "--score", "cosine", "--normalize", "joint", "--save-maps"
    )
    assert code == 0, err
    code, _, err = cli(
        "query", "-w", run_workspace, "-o", tmp_path / "out", "--prompts", "a", "--model", "semlat-tiny", "--pretrained", "w.pt"
    )
    assert code == 0, err
    (prompt_list, output, options), (_, _, defaults) = calls
    assert prompt_list == ["ceiling", "ground"] and output == tmp_path / "out"
    key = Workspace.open(run_workspace).feature_key()
    assert options == {
        "images": ["view_00.png", "view_02.png"],
        "key": key,
        "fusion": "region",
        "score": "cosine",
        "levels": [0],
        "normalize": "joint",
        "save_maps": True,
        "text_model": None,
        "device": "auto",
    }
    assert (defaults["fusion"], defaults["score"], defaults["images"], defaults["levels"]) == ("sum", "softmax", None, None)
    assert defaults["normalize"] == "prompt"
    assert defaults["text_model"] == ModelSpec("semlat-tiny", "w.pt") and defaults["save_maps"] is False


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
    args = ["--prompts", "x", "-o", tmp_path / "out", *model_args(tiny_checkpoint)]
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


BOTH = (False, True)
# case: (arguments from the photos folder and the checkpoint, what the error line names, new and/or existing workspace)
BAD_INPUTS = {
    "zero prompts": (lambda d, c: ["query", "-o", d.parent / "o", "--prompts", " , "], ("no prompts",), (True,)),
    "missing prompts file": (
        lambda d, c: ["query", "-o", d.parent / "o", "--prompts-file", d / "none.txt"],
        ("cannot read prompts file",),
        (True,),
    ),
    "unknown image in query": (
        lambda d, c: ["query", "-o", d.parent / "o", "--prompts", "a", "--image", "zzz.png"],
        ("no image named",),
        (True,),
    ),
    "unknown heatmap scaling": (
        lambda d, c: ["query", "-o", d.parent / "o", "--prompts", "a", "--normalize", "global"],
        ("unknown normalize 'global'",),
        (True,),
    ),
    "query of no workspace": (
        lambda d, c: ["query", "-o", d.parent / "o", "--prompts", "a"],
        ("not a semlat workspace",),
        (False,),
    ),
    "run with missing checkpoint": (
        lambda d, c: ["run", d, "--prompts", "a", "--model", "semlat-tiny", "--pretrained", str(d / "none.pt")],
        ("does not exist",),
        BOTH,
    ),
    "run with zero prompts": (lambda d, c: ["run", d, "--prompts", ",", *model_args(c)], ("no prompts",), BOTH),
}
CASES = [
    pytest.param(case, existing, id=f"{case} ({'existing' if existing else 'new'} workspace)")
    for case, (_, _, workspaces) in BAD_INPUTS.items()
    for existing in workspaces
]


@pytest.mark.parametrize(("case", "existing"), CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_the_workspace(case, existing, assert_refused, images_dir, tiny_checkpoint):
    make_args, messages, _ = BAD_INPUTS[case]
    assert_refused(make_args(images_dir, tiny_checkpoint), messages, existing)
