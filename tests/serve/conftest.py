"""A small toy-world workspace the viewer tests share: 3 rendered views, classical regions, toy-CLIP features, labels."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_toy_workspace(root: Path, views: int = 3, embed: bool = True) -> Path:
    """Render toy scene 7 (`semlat demo`'s) at 192×144 and run masks → embed → label on it into ``root/ws``."""
    from semlat.encoders import toy_model_spec
    from semlat.stages.embed import embed_regions
    from semlat.stages.label import label_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace
    from semlat_toy.io import write_scene

    scene = write_scene(root / "scene", 7, n_views=views, width=192, height=144)
    ws = Workspace.open_or_create(root / "ws")
    propose_regions(ws, scene / "images", backend="classical", max_regions=24)
    if embed:
        embed_regions(ws, model=toy_model_spec(), region_set="classical", device="cpu")
        label_regions(ws, "classical", descriptor="clip", device="cpu")
    return root / "ws"


@pytest.fixture(scope="session")
def toy_workspace(tmp_path_factory) -> Path:
    """Made once per session: never write to it (copy it to change it)."""
    return build_toy_workspace(tmp_path_factory.mktemp("serve"))
