"""`open_features`: the open workspace and the feature key that --region-set/--features pick."""

from __future__ import annotations

import numpy as np
import pytest

from semlat.cli.options import MAX_SEED, MAX_SEEDS, open_features, parse_seeds
from semlat.errors import SemlatError
from semlat.types import FeatureKey
from tests.stages.consistency.conftest import KEY, basis, build_workspace

SMOOTHED = FeatureKey(KEY.region_set, KEY.model_key, "smoothed")
OTHER_SET = FeatureKey("other", KEY.model_key, "raw")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One image with features raw and smoothed of region set ``test``, and raw of region set ``other``."""
    ws = build_workspace(tmp_path_factory.mktemp("options"), [[0, 1]], [[basis(0), basis(1)]])
    ids, vectors = ws.embeddings(KEY, ws.images()[0])
    for key in (SMOOTHED, OTHER_SET):
        ws.claim_config("feature_sets", str(key), {"strategy": "test"}, hint="")
        ws.write_embeddings(key, 0, ids, vectors)
    return ws.root


@pytest.mark.parametrize(
    ("region_set", "features", "key"),
    [
        ("test", None, KEY),  # raw is the default among several
        ("test", "smoothed", SMOOTHED),
        (None, "smoothed", SMOOTHED),
        ("other", None, OTHER_SET),
    ],
)
def test_the_options_pick_one_feature_key_of_the_opened_workspace(workspace, region_set, features, key):
    ws, picked = open_features(workspace, region_set, features)
    assert ws.root == workspace and picked == key
    np.testing.assert_allclose(ws.embeddings(picked, ws.images()[0])[1][1], basis(0))


@pytest.mark.parametrize(
    ("region_set", "features", "message"),
    [
        (None, None, "several feature sets match"),  # raw of two region sets
        (None, "raw", "several feature sets match"),
        ("test", "blurred", "no matching embeddings"),
        ("nope", None, "no matching embeddings"),
    ],
)
def test_an_ambiguous_or_unknown_choice_is_one_error(workspace, region_set, features, message):
    with pytest.raises(SemlatError, match=message):
        open_features(workspace, region_set, features)


def test_a_folder_that_is_no_workspace_is_refused(tmp_path):
    with pytest.raises(SemlatError, match="not a semlat workspace"):
        open_features(tmp_path, None, None)


@pytest.mark.parametrize(
    "text, seeds",
    [("0..3", [0, 1, 2, 3]), ("1,4,9", [1, 4, 9]), ("0..1, 5", [0, 1, 5]), (" 7 ", [7]), ("2..2", [2])],
)
def test_seeds_are_ranges_and_lists(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    "text", ["a", "1..b", "0-3", "", ",", " ", "-1", "3..1", f"0..{MAX_SEED + 1}", f"0..{MAX_SEEDS}", "0..1000000000"]
)
def test_unreadable_or_no_seeds_are_errors(text):
    with pytest.raises(SemlatError, match="seeds"):
        parse_seeds(text)
