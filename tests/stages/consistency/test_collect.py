"""Bad workspaces give one clear SemlatError line (the CLI turns it into exit code 2)."""

import pytest

from semlat.errors import SemlatError
from semlat.stages.consistency import compute_metrics, refine_labels, smooth_features
from semlat.workspace import Workspace
from tests.stages.consistency.conftest import basis

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
