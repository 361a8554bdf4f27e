"""The README's main job, on a smaller scene: every promised output exists and says something."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from semlat.stages.query.render import STRIP_MIN_WIDTH
from semlat_toy import make_scene
from semlat_toy.demo import DEMO_SEED, demo_backend, run_demo

VIEWS = ["view_00", "view_01", "view_02"]


def test_demo_writes_queries_and_report(tmp_path):
    result = run_demo(tmp_path / "demo", n_views=3, device="cpu")
    objects = sorted(o.class_name for o in make_scene(DEMO_SEED).objects)
    assert result.prompts == [*objects, "floor", "wall"] and result.backend == demo_backend() == "mobile-sam"
    assert sorted(p.name for p in (result.scene / "images").iterdir()) == [f"{view}.png" for view in VIEWS]
    assert json.loads((result.queries / "query.json").read_text())["prompts"] == result.prompts
    for view in VIEWS:
        pictures = result.queries / view
        heatmaps = {prompt: np.asarray(Image.open(pictures / f"{prompt.replace(' ', '-')}.png")) for prompt in result.prompts}
        # the rendered view at its own size (256 x 192), a colour bar below it
        assert all(heatmap.shape[0] > 192 and heatmap.shape[1] == max(256, STRIP_MIN_WIDTH) for heatmap in heatmaps.values())
        assert not np.array_equal(heatmaps["floor"], heatmaps["wall"])
        Image.open(pictures / "segmentation.png").verify()
    assert result.report.name == "report.html" and "<img" in result.report.read_text()
    summary = json.loads((result.report.parent / "metrics.json").read_text())["summary"]
    assert summary["images"] == 3 and summary["labels"] > 1  # the demo's regions got cross-view labels
    assert summary["labelled_regions"] == summary["regions"] > 0
