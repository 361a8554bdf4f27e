"""Gathering every region's feature and label; a bad workspace is one clear SemlatError line in every stage that does."""

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.stages.consistency import compute_metrics, refine_labels, smooth_features
from semlat.stages.consistency.collect import choose_key, collect_regions
from semlat.types import FeatureKey
from semlat.workspace import Workspace
from tests.stages.consistency.conftest import KEY, basis

STAGES = [compute_metrics, smooth_features, refine_labels]


@pytest.mark.parametrize("stage", STAGES)
def test_empty_workspace(tmp_path, stage):
    with pytest.raises(SemlatError, match="has no images"):
        stage(Workspace.open_or_create(tmp_path / "ws"))


@pytest.mark.parametrize("stage", STAGES)
def test_workspace_without_labels(make_ws, stage):
    ws = make_ws([[-1, -1], [-1]], [[basis(0), basis(1)], [basis(2)]])
    with pytest.raises(SemlatError, match="cross-view label") as info:
        stage(ws)
    assert "\n" not in str(info.value)


def test_workspace_without_features(make_ws):
    ws = make_ws([[0, 1]], None)
    with pytest.raises(SemlatError, match="run `semlat embed` first"):
        compute_metrics(ws)


def test_unknown_feature_set(make_ws):
    ws = make_ws([[0, 1]], [[basis(0), basis(1)]])
    with pytest.raises(SemlatError, match="no matching embeddings"):
        compute_metrics(ws, key=ws.feature_key(feature_set="smoothed"))


def test_every_region_is_one_row_in_image_order_and_unlabelled_ones_are_kept(make_ws):
    vectors = [[basis(0), basis(1)], [basis(2), basis(3), basis(4)]]
    ws = make_ws([[0, -1], [2, 0, 1]], vectors)
    table = collect_regions(ws, choose_key(ws))
    assert table.key == KEY
    assert table.image_ids.tolist() == [0, 0, 1, 1, 1] and table.region_ids.tolist() == [0, 1, 0, 1, 2]
    assert table.labels.tolist() == [0, -1, 2, 0, 1] and table.labelled.tolist() == [True, False, True, True, True]
    assert table.label_ids().tolist() == [0, 1, 2]
    np.testing.assert_allclose(table.vectors, np.stack([v for image in vectors for v in image]))  # whole-image rows left out


def test_unlabelled_regions_are_collected_when_labels_are_not_required(make_ws):
    ws = make_ws([[-1, -1]], [[basis(0), basis(1)]])
    table = collect_regions(ws, KEY, require_labels=False)
    assert table.labels.tolist() == [-1, -1] and table.label_ids().size == 0 and table.vectors.shape == (2, 6)


def test_a_given_key_is_checked(make_ws):
    ws = make_ws([[0, 1]], [[basis(0), basis(1)]])
    assert choose_key(ws, KEY) == KEY == choose_key(ws)
    with pytest.raises(SemlatError, match=r"no features test/toy:hand/smoothed in .* \(has: test/toy:hand/raw\)"):
        choose_key(ws, FeatureKey("test", "toy:hand", "smoothed"))
