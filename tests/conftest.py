"""Shared fixtures: a tiny random-weight OpenCLIP checkpoint, a folder of small photos, the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A saved `semlat-tiny` model (registered from its JSON config) with seeded random weights."""
    import open_clip
    import torch

    from semlat.encoders import CONFIG_DIR

    open_clip.add_model_config(CONFIG_DIR)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "semlat-tiny.pt"
    torch.save(open_clip.create_model("semlat-tiny").state_dict(), path)
    return path


def scene_image(seed: int, height: int = 72, width: int = 96) -> np.ndarray:
    """A few flat-coloured rectangles on a gradient: easy, stable regions."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.uint8)
    image[...] = np.linspace(40, 90, width, dtype=np.uint8)[None, :, None]
    for _ in range(4):
        y, x = rng.integers(0, height - 10), rng.integers(0, width - 10)
        h, w = rng.integers(8, height // 2), rng.integers(8, width // 2)
        image[y : y + h, x : x + w] = rng.integers(0, 256, 3)
    return image


@pytest.fixture
def images_dir(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(scene_image(index)).save(folder / f"view_{index:02d}.png")
    return folder


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `semlat ARGS` in-process through the real entry point; returns (exit code, stdout, stderr)."""
    from semlat.cli import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["semlat", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes: equal snapshots mean an untouched workspace."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def stereo(tmp_path_factory):
    """The two stereo views (`tests.stereo`), their disparity, and a workspace with the clustered
    MobileSAM region set ``mobile-sam`` whose run kept its SAM latents; one per test module."""
    from tests.stereo import clustered_workspace

    folder = tmp_path_factory.mktemp("stereo")
    workspace, disparity = clustered_workspace(folder)
    return folder, workspace, disparity
