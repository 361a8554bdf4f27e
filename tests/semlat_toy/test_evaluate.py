"""`semlat eval` on one small scene: bounded numbers, and regions beat the global-only baseline."""

import json

import numpy as np

from semlat_toy.evaluate import ground_truth_regions


def test_ground_truth_regions_cover_every_visible_instance():
    instance = np.array([[1, 1, 10], [2, 10, 10]])
    regions = ground_truth_regions(instance)
    assert [r.label for r in regions] == [1, 2, 10]
    assert sum(r.area for r in regions) == instance.size


def test_eval_on_one_scene(cli, tmp_path):
    code, out, err = cli(
        "eval",
        "--seeds",
        "5",
        "--views",
        "2",
        "--masks",
        "ground-truth",
        "--masks",
        "classical",
        "-o",
        tmp_path,
        "--device",
        "cpu",
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "eval.json").read_text())
    miou = {c["name"]: c["miou"] for c in summary["configs"]}
    print(json.dumps(miou, indent=1))  # the numbers, for the log
    assert all(0.0 <= value <= 1.0 for value in miou.values())
    baseline = miou.pop("global-only")
    assert all(value > baseline for value in miou.values())
    assert miou["ground-truth / masked-crop / region / softmax"] >= 0.8
    assert summary["ari"]["ground-truth"] == 1.0
    assert "| global-only |" in (tmp_path / "eval.md").read_text()
