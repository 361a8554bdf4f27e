"""What the command tests share: the test model's options, a workspace after `semlat run`, the bad-input check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import scene_image, snapshot


def model_args(checkpoint: Path) -> list[str]:
    """The random-weight test CLIP on the CPU, with the fast weight-free regions."""
    return ["--model", "semlat-tiny", "--pretrained", str(checkpoint), "--device", "cpu", "--backend", "classical"]


@pytest.fixture(scope="session")
def run_workspace(tmp_path_factory, tiny_checkpoint) -> Path:
    """A workspace as `semlat run PHOTOS --prompts a` leaves it (the photos of ``images_dir``), made once: copy it to change it."""
    from semlat.encoders import ModelSpec
    from semlat.pipeline import run_pipeline
    from semlat.workspace import Workspace

    root = tmp_path_factory.mktemp("run")
    (root / "images").mkdir()
    for index in range(3):
        Image.fromarray(scene_image(index)).save(root / "images" / f"view_{index:02d}.png")
    model = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(root / "ws")
    run_pipeline(ws, root / "images", ["a"], root / "out", backend="classical", model=model, device="cpu")
    return root / "ws"


def expect_refusal(cli, args: list, messages: tuple[str, ...] = (), watched: Path | None = None) -> str:
    """Run a bad command: exit code 2, one `error:` line with each of ``messages``, ``watched`` byte-identical; returns the line."""
    before = snapshot(watched) if watched is not None else None
    code, _, err = cli(*args)
    assert code == 2, err
    assert err.startswith("error:") and err.strip().count("\n") == 0 and all(m in err for m in messages), err
    if watched is not None:
        assert snapshot(watched) == before
    return err


@pytest.fixture
def assert_refused(cli, tmp_path, run_workspace):
    """Run a bad command on a new or an existing workspace: exit code 2, one `error:` line with each of ``messages``, nothing written."""

    def check(args: list, messages: tuple[str, ...], existing: bool) -> None:
        ws = tmp_path / "ws"
        if existing:
            shutil.copytree(run_workspace, ws)
        expect_refusal(cli, [*args, "-w", ws], messages, ws)

    return check
