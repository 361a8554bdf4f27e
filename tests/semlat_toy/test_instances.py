"""Instance measures on hand-made label maps; the instance evaluation end to end on a tiny scene."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semlat.types import Region
from semlat_toy.instances import instance_scores, instances_markdown, oracle_labels

CLASSES = {0: "sky", 1: "floor", 10: "red cube", 11: "red cube", 12: "blue cone"}


def views():
    truth = [np.array([[1, 1, 10, 10], [1, 1, 11, 12]]), np.array([[1, 1, 1, 11], [10, 10, 12, 0]])]
    return truth


def test_perfect_labels_score_one_and_sky_is_no_instance():
    truth = views()
    predicted = [np.where(t == 0, -1, t + 100) for t in truth]
    scores = instance_scores(truth, predicted, CLASSES)
    assert scores["ari"] == pytest.approx(1.0)  # unlabelled sky is one more cluster, as it should be
    assert (scores["kept_whole"], scores["kept_apart"], scores["duplicates_apart"]) == (1.0, 1.0, 1.0)
    assert (scores["n_instances"], scores["n_labels"]) == (4, 4)


def test_the_oracle_reads_what_regions_show_and_matches_them_one_to_one_under_cannot_link():
    truth = np.array([[1, 1, 1, 1], [1, 1, 10, 10], [1, 1, 10, 10], [12, 12, 12, 12]])
    whole, box, bottom = np.ones((4, 4), bool), truth == 10, np.zeros((4, 4), bool)
    bottom[2:, :] = True  # most of what it shows is 12, yet half of all of it is floor or box
    regions = [Region.from_mask(0, whole), Region.from_mask(1, box), Region.from_mask(2, bottom)]

    class OneImage:
        def images(self):
            return ["view"]

        def regions(self, name, record):
            return regions

    free = [r.label for r in oracle_labels(OneImage(), "set", [truth], cannot_link=False)[0]]
    assert free == [1, 10, 12]  # the whole shows the floor only: the box and the bottom are painted over it
    linked = [r.label for r in oracle_labels(OneImage(), "set", [truth], cannot_link=True)[0]]
    assert linked == [1, 10, 12]
    left, top = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    left[:3, :2] = True
    top[0, 2:] = True
    regions[2:] = [Region.from_mask(2, left), Region.from_mask(3, top)]  # both show floor only: one keeps it
    assert [r.label for r in oracle_labels(OneImage(), "set", [truth], cannot_link=False)[0]] == [12, 10, 1, 1]
    linked = [r.label for r in oracle_labels(OneImage(), "set", [truth], cannot_link=True)[0]]
    assert linked[:3] == [12, 10, 1] and linked[3] >= 1 << 30


def test_merged_duplicates_and_split_instances_are_counted():
    truth = views()
    merged = [np.where(np.isin(t, (10, 11)), 7, t) for t in truth]  # the two red cubes share a label
    scores = instance_scores(truth, merged, CLASSES)
    assert scores["duplicates_apart"] == 0.0 and scores["kept_whole"] == 1.0 and scores["kept_apart"] == 0.75
    split = [t.copy() for t in truth]
    split[1] = np.where(split[1] == 1, 5, split[1])  # the floor gets another label in the second view
    scores = instance_scores(truth, split, CLASSES)
    assert scores["kept_whole"] == 0.75 and scores["kept_apart"] == 1.0 and scores["duplicates_apart"] == 1.0
    assert instance_scores(truth, truth, {0: "sky", 1: "floor", 10: "a", 11: "b", 12: "c"})["duplicates_apart"] is None


@pytest.mark.slow
def test_evaluate_instances_on_a_tiny_scene(tmp_path):
    from semlat.encoders import toy_model_spec
    from semlat_toy.instances import evaluate_instances

    summary = evaluate_instances(
        [0],
        toy_model_spec(),
        tmp_path,
        n_views=3,
        worlds=["hard"],
        sources=["ground-truth"],
        methods=["tracks", "kmeans"],
        device="cpu",
    )
    rows = {row["method"]: row for row in summary["mean"]}
    assert set(rows) == {"tracks", "kmeans", "oracle", "oracle, cannot-link"} and rows["tracks"]["ari"] > 0.9
    assert rows["oracle, cannot-link"]["ari"] == rows["oracle"]["ari"] == 1.0  # true masks allow every instance
    assert json.loads((tmp_path / "instances.json").read_text())["mean"] == summary["mean"]
    assert "| hard | ground-truth | 0 | tracks |" in (tmp_path / "instances.md").read_text()
    assert "| hard | ground-truth | 0 | kmeans |" in instances_markdown(summary)
