"""The README's main job, on a smaller scene: every promised output exists."""

import json

from PIL import Image

from semlat_toy.demo import run_demo


def test_demo_writes_queries_and_report(tmp_path):
    result = run_demo(tmp_path / "demo", n_views=3, device="cpu")
    assert {"floor", "wall"} <= set(result.prompts) and len(result.prompts) >= 4
    for view in ("view_00", "view_01", "view_02"):
        assert Image.open(result.queries / view / "segmentation.png").size[0] > 0
        assert (result.queries / view / "floor.png").is_file()
    assert result.report.name == "report.html" and "<img" in result.report.read_text()
    summary = json.loads((result.report.parent / "metrics.json").read_text())["summary"]
    assert summary["images"] == 3 and summary["labels"] > 1  # the demo's regions got cross-view labels
    assert summary["labelled_regions"] == summary["regions"] > 0
