"""`semlat eval`'s measurements: ground-truth regions, IoU, the configurations, and one small scene end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semlat.encoders import toy_model_spec
from semlat.errors import SemlatError
from semlat.types import Region
from semlat_toy import FLOOR_ID, SKY_ID, WALL_IDS
from semlat_toy import evaluate as evaluation
from semlat_toy.evaluate import (
    GROUND_TRUTH,
    EvalConfig,
    _iou_per_class,
    class_of_instance,
    default_configs,
    evaluate,
    ground_truth_regions,
    markdown_table,
    mask_sources,
    pixel_labels,
)


def test_ground_truth_regions_are_the_visible_instances():
    instance = np.array([[1, 1, 10], [2, 10, 10], [0, 0, 10]])
    regions = ground_truth_regions(instance)
    assert [r.label for r in regions] == [1, 2, 10] and [r.region_id for r in regions] == [0, 1, 2]
    for region in regions:
        np.testing.assert_array_equal(region.mask(), instance == region.label)


def test_a_pixel_takes_the_label_of_the_smallest_region_over_it_in_any_order():
    whole = np.ones((4, 4), bool)
    part = np.zeros((4, 4), bool)
    part[:2, :2] = True
    small, large = Region.from_mask(0, part, label=7), Region.from_mask(1, whole, label=3)
    expected = np.where(part, 7, 3)
    np.testing.assert_array_equal(pixel_labels([small, large], (4, 4)), expected)
    np.testing.assert_array_equal(pixel_labels([large, small], (4, 4)), expected)
    assert (pixel_labels([], (2, 3)) == -1).all()


def test_floor_and_walls_are_prompted_as_floor_and_wall():
    classes = {SKY_ID: "sky", FLOOR_ID: "floor", **{wall: "wall" for wall in WALL_IDS}, 10: "red sphere"}
    assert class_of_instance(classes) == {FLOOR_ID: "floor", **{wall: "wall" for wall in WALL_IDS}, 10: "red sphere"}


def test_iou_per_class_of_the_true_classes():
    truth = np.array([[0, 0, 1, 1], [-1, -1, 2, 2]])
    predicted = np.array([[0, 1, 1, 1], [0, 0, 1, 2]])
    assert _iou_per_class(predicted, truth) == {0: pytest.approx(1 / 4), 1: pytest.approx(2 / 4), 2: pytest.approx(1 / 2)}


def test_configurations_per_mask_source():
    configs = default_configs(["classical", GROUND_TRUTH])
    names = [c.name for c in configs]
    assert names[0] == "global-only" and len(set(names)) == len(names) == 1 + 2 * 8
    assert "classical / masked-full / sum / softmax" in names  # the original's
    assert EvalConfig("classical", "masked-crop", smoothed=True).feature_set == "masked-crop-smoothed"
    assert EvalConfig("none", None).feature_set is None


@pytest.mark.parametrize(
    "backend, sources", [("mobile-sam", ["classical", "mobile-sam", GROUND_TRUTH]), ("classical", ["classical", GROUND_TRUTH])]
)
def test_mask_sources_are_the_installed_backends_and_ground_truth(monkeypatch, backend, sources):
    monkeypatch.setattr(evaluation, "default_backend", lambda: backend)
    assert mask_sources() == sources


def test_no_seeds_is_an_error():
    with pytest.raises(SemlatError, match="no seeds"):
        evaluate([], toy_model_spec())


def test_eval_on_one_scene(tmp_path):
    summary = evaluate([5], toy_model_spec(), tmp_path, n_views=2, sources=[GROUND_TRUTH, "classical"], device="cpu")
    assert summary == json.loads((tmp_path / "eval.json").read_text())
    assert (tmp_path / "eval.md").read_text() == markdown_table(summary)
    miou = {c["name"]: c["miou"] for c in summary["configs"]}
    print(json.dumps(miou, indent=1))  # the numbers, for the log
    assert all(0.0 <= value <= 1.0 for value in miou.values())
    baseline = miou.pop("global-only")
    assert all(value > baseline for value in miou.values())
    assert miou["ground-truth / masked-crop / region / softmax"] >= 0.8
    assert "ari" not in summary  # cross-view labels are the instance part's
    assert "| global-only |" in markdown_table(summary)
    assert [s["seed"] for s in summary["per_scene"]] == [5] and summary["views_per_scene"] == 2
