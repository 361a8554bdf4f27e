"""SIGKILL at random moments of `masks`, `embed` and `query`, then the same command again: the result equals an uninterrupted run's.

Each stage runs in a real subprocess over a dozen small photos (weight-free regions, the tiny test
CLIP), is killed once its first commit is on disk plus a random delay, and is then rerun to the end;
tables are compared by content (not the bytes of Lance's files), query outputs file by file.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

import semlat
from tests.conftest import scene_image, snapshot

N_IMAGES = 12


def stage_args(stage: str, images: Path, ws: Path, out: Path, checkpoint: Path) -> list[str]:
    return {
        "masks": ["masks", images, "-w", ws, "--backend", "classical", "--max-regions", "8"],
        "embed": [
            "embed",
            "-w",
            ws,
            "--model",
            "semlat-tiny",
            "--pretrained",
            checkpoint,
            "--device",
            "cpu",
            "--batch-size",
            "8",
        ],
        "query": ["query", "-w", ws, "--prompts", "a,b", "-o", out, "--device", "cpu"],
    }[stage]


def started(stage: str, ws: Path, out: Path) -> bool:
    """Whether the stage has committed its first piece of work (a kill from now on lands mid-work)."""
    if stage == "query":
        return out.is_dir() and any(path.is_dir() for path in out.iterdir())
    return (ws / "db" / f"{'regions' if stage == 'masks' else 'embeddings'}.lance").is_dir()


def contents(root: Path) -> dict:
    """What a workspace holds, table by table, in a form equal workspaces share (no file bytes, no timestamps)."""
    from semlat.workspace import Workspace, embeddings_stage, regions_stage

    ws = Workspace.open(root)
    images = ws.images()
    manifest = {k: v for k, v in ws.manifest.to_dict().items() if k not in ("created", "packages")}
    regions = {
        name: [
            [(r.region_id, r.label, r.level, r.rle["counts"], r.bbox, r.area, r.score) for r in ws.regions(name, im)]
            for im in images
        ]
        for name in ws.region_sets()
    }
    vectors = {}
    for key in ws.feature_keys():
        pairs = [ws.embeddings(key, im) for im in images]
        vectors[str(key)] = [(ids.tolist(), array.tobytes()) for ids, array in pairs]
    ledger = {stage: ws.done_images(stage) for stage in [regions_stage(n) for n in ws.region_sets()]}
    ledger |= {stage: ws.done_images(stage) for stage in [embeddings_stage(k) for k in ws.feature_keys()]}
    return {"manifest": manifest, "images": images, "regions": regions, "vectors": vectors, "ledger": ledger}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_checkpoint):
    """The photos, and the workspace and outputs of uninterrupted runs, kept after each stage."""
    root = tmp_path_factory.mktemp("resume")
    images = root / "images"
    images.mkdir()
    for index in range(N_IMAGES):
        Image.fromarray(scene_image(100 + index)).save(images / f"view_{index:02d}.png")
    from semlat.cli import main

    states = {"before masks": None}
    ws, out = root / "ws", root / "out"
    for stage, after in (("masks", "before embed"), ("embed", "before query"), ("query", "done")):
        args = [str(a) for a in stage_args(stage, images, ws, out, tiny_checkpoint)]
        saved, sys.argv = sys.argv, ["semlat", *args]
        try:
            main()
        except SystemExit as exit_:
            assert not exit_.code
        finally:
            sys.argv = saved
        states[after] = root / after.replace(" ", "-")
        shutil.copytree(ws, states[after] / "ws")
        if out.exists():
            shutil.copytree(out, states[after] / "out")
    return images, states


TRIALS = [("masks", 0), ("masks", 1), ("embed", 0), ("query", 0)]


@pytest.mark.parametrize(("stage", "trial"), TRIALS, ids=[f"{stage}-{trial}" for stage, trial in TRIALS])
def test_a_killed_stage_resumes_to_what_an_uninterrupted_run_gives(stage, trial, reference, cli, tmp_path, tiny_checkpoint):
    images, states = reference
    before = states[{"masks": "before masks", "embed": "before embed", "query": "before query"}[stage]]
    after = states[{"masks": "before embed", "embed": "before query", "query": "done"}[stage]]
    ws, out = tmp_path / "ws", tmp_path / "out"
    if before is not None:
        shutil.copytree(before / "ws", ws)
    args = [str(a) for a in stage_args(stage, images, ws, out, tiny_checkpoint)]
    env = {"PYTHONPATH": str(Path(semlat.__file__).parents[1]), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from semlat.cli import main; main()", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not started(stage, ws, out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.Random(f"{stage}{trial}").uniform(0.0, 0.3))
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the stage ended before it was killed: kill it sooner"
    code, _, err = cli(*args)
    assert code == 0, err
    assert contents(ws) == contents(after / "ws")
    if stage == "query":
        assert snapshot(out) == snapshot(after / "out")
