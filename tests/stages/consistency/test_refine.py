import numpy as np
import pytest

from semlat.stages.consistency import compute_metrics, plan_refinement, refine_labels
from semlat.types import FeatureKey
from semlat.vectors import normalize
from tests.conftest import snapshot
from tests.stages.consistency.conftest import KEY, basis

E = [basis(i) for i in range(6)]
MIX = normalize(E[0] + E[1] + E[2] + E[3])

# labels 0 and 1 mean the same (e0); 2, 3, 4 are distinct; 5 is a mixture of everything; -1 unlabelled
LABELS = [[0, 1, 2, 5, -1], [0, 2, 3, 4, 5], [1, 3, 4, 5]]
VECTORS = [[E[0], E[0], E[1], MIX, E[5]], [E[0], E[1], E[2], E[3], MIX], [E[0], E[2], E[3], MIX]]


def test_two_identical_labels_merge_and_the_mixture_is_deleted(make_ws):
    ws = make_ws(LABELS, VECTORS)
    plan = refine_labels(ws, dry_run=True)
    assert plan.deleted == [5] and plan.merged == {0: [1]}
    assert plan.pairs[0][:2] == (0, 1) and plan.pairs[0][2] == pytest.approx(1.0)
    assert any("delete label 5" in line for line in plan.describe())


def test_dry_run_writes_nothing(make_ws):
    ws = make_ws(LABELS, VECTORS)
    before = snapshot(ws.root)
    refine_labels(ws, dry_run=True)
    assert snapshot(ws.root) == before and ws.region_sets() == ["test"]


def test_refine_writes_a_new_region_set_with_provenance(make_ws):
    ws = make_ws(LABELS, VECTORS)
    plan = refine_labels(ws)
    assert plan.out_region_set == "test-refined" and ws.region_sets() == ["test", "test-refined"]
    config = ws.manifest.region_sets["test-refined"]
    assert config["backend"] == "refine" and config["from"] == "test" and config["deleted"] == [5]
    assert config["merged"] == {"0": [1]} and config["delete_k"] == 1.0 and config["merge_threshold"] == 0.6
    first, second, third = ws.images()

    old = ws.regions("test", first)
    new = ws.regions("test-refined", first)
    assert [(r.region_id, r.label) for r in new] == [(0, 0), (2, 2), (4, -1)]  # 0 ∪ 1, label 5 dropped
    np.testing.assert_array_equal(new[0].mask(), old[0].mask() | old[1].mask())
    assert new[0].area == old[0].area + old[1].area
    np.testing.assert_array_equal(new[2].mask(), old[4].mask())
    assert [(r.region_id, r.label) for r in ws.regions("test-refined", third)] == [(0, 0), (1, 3), (2, 4)]  # 1 → 0, alone
    assert len(ws.regions("test", first)) == 5  # the old set stays

    new_key = FeatureKey("test-refined", KEY.model_key, "raw")
    assert new_key in ws.feature_keys() and plan.carried == [str(new_key)]
    ids, vectors = ws.embeddings(new_key, first)
    assert ids.tolist() == [-1, 0, 2, 4]
    np.testing.assert_allclose(vectors[1], E[0], atol=1e-6)  # normalised mean of the union's members
    np.testing.assert_allclose(vectors[0], ws.embeddings(KEY, first)[1][0])
    refined = compute_metrics(ws, key=ws.feature_key(region_set="test-refined"))
    assert refined.label_ids == [0, 2, 3, 4] and refined.labels[0].members == 3


def test_rerun_resumes_and_other_thresholds_need_a_new_name(make_ws):
    from semlat.errors import SemlatError

    ws = make_ws(LABELS, VECTORS)
    refine_labels(ws)
    refine_labels(ws, key=ws.feature_key(region_set="test"))  # same plan: nothing to do
    with pytest.raises(SemlatError, match="out-region-set"):
        refine_labels(ws, key=ws.feature_key(region_set="test"), merge_threshold=1.5)
    plan = refine_labels(ws, key=ws.feature_key(region_set="test"), merge_threshold=1.5, out_region_set="strict")
    assert plan.merged == {} and "strict" in ws.region_sets()


# S with overall similarities exactly [-1, -1, 1, 1]: mean 0, population std 1
EDGE = np.array([[1, -1, 0, 0], [-1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], float)


@pytest.mark.parametrize(
    ("k", "deleted", "merged"),
    [
        (1.0, [], {12: [13]}),  # threshold exactly 1: deletion needs strictly greater
        (0.999, [12, 13], {}),
        (0.0, [12, 13], {}),
        (-1.0001, [10, 11, 12, 13], {}),
    ],
)
def test_deletion_threshold_edges(k, deleted, merged):
    plan = plan_refinement(EDGE, [10, 11, 12, 13], delete_k=k, merge_threshold=0.6)
    assert plan.threshold == pytest.approx(k)
    assert (plan.deleted, plan.merged) == (deleted, merged)


def test_equal_overall_similarities_delete_nothing():
    plan = plan_refinement(np.array([[1.0, -1.0], [-1.0, 1.0]]), [0, 1], delete_k=0.0)
    assert plan.deleted == [] and plan.merged == {} and not plan.changes


def test_merges_are_transitive_into_the_smallest_label():
    s = np.eye(4)
    s[0, 1] = s[1, 0] = 0.7  # 3 ~ 5
    s[1, 2] = s[2, 1] = 0.61  # 5 ~ 9, so 9 joins 3 although cos(3, 9) is low
    s[2, 3] = s[3, 2] = 0.6  # not strictly above the threshold
    plan = plan_refinement(s, [3, 5, 9, 20], delete_k=10.0, merge_threshold=0.6)
    assert plan.merged == {3: [5, 9]} and plan.new_label(9) == 3 and plan.new_label(20) == 20
    assert plan.new_label(-1) == -1


def test_one_label_and_single_members(make_ws):
    ws = make_ws([[0], [0]], [[E[0]], [E[1]]])
    plan = refine_labels(ws, dry_run=True)
    assert plan.label_ids == [0] and not plan.changes and plan.overall == [0.0]
    ws2_plan = plan_refinement(np.array([[1.0]]), [7])
    assert ws2_plan.deleted == [] and ws2_plan.merged == {}
