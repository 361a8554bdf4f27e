import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.stages.consistency import compute_metrics, smooth_features
from semlat.stages.consistency.measures import robust_prototype
from semlat.types import FeatureKey
from tests.stages.consistency.conftest import KEY, basis, unit


def noisy_ws(make_ws, images: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = [[0, 1, -1, 2]] * images
    vectors = [[unit(basis(i) + 0.3 * rng.normal(size=6)) for i in range(4)] for _ in range(images)]
    return make_ws(labels, vectors), vectors


def all_vectors(ws, key):
    return [ws.embeddings(key, record)[1] for record in ws.images()]


@pytest.mark.parametrize("method", ["prototype", "knn"])
def test_alpha_zero_is_the_identity(make_ws, method):
    ws, _ = noisy_ws(make_ws)
    new = smooth_features(ws, method=method, alpha=0.0)
    assert new == FeatureKey(KEY.region_set, KEY.model_key, "smoothed")
    for before, after in zip(all_vectors(ws, KEY), all_vectors(ws, new)):
        np.testing.assert_allclose(after, before, atol=1e-6)


def test_alpha_one_is_the_prototype(make_ws):
    ws, vectors = noisy_ws(make_ws)
    new = smooth_features(ws, alpha=1.0)
    after = all_vectors(ws, new)
    for _label, column in ((0, 0), (1, 1), (2, 3)):
        prototype = robust_prototype(np.stack([image[column] for image in vectors]))
        for image in after:
            np.testing.assert_allclose(image[1 + column], prototype, atol=1e-6)
    before = all_vectors(ws, KEY)
    for b, a in zip(before, after):
        np.testing.assert_allclose(a[0], b[0])  # whole image unchanged
        np.testing.assert_allclose(a[3], b[3])  # unlabelled region unchanged


@pytest.mark.parametrize("method", ["prototype", "knn"])
def test_smoothing_raises_coherence_and_is_selectable(make_ws, method):
    ws, _ = noisy_ws(make_ws)
    smooth_features(ws, method=method, alpha=0.5, k=2)
    raw = compute_metrics(ws, key=ws.feature_key(feature_set="raw"))
    smoothed = compute_metrics(ws, key=ws.feature_key(feature_set="smoothed"))
    assert smoothed.key.feature_set == "smoothed"
    assert smoothed.summary["mean_cosine_to_prototype"] > raw.summary["mean_cosine_to_prototype"]
    assert smoothed.summary["mean_intra_variance"] < raw.summary["mean_intra_variance"]
    config = ws.manifest.feature_sets[str(smoothed.key)]
    assert config["strategy"] == "smooth" and config["from"] == str(KEY) and config["method"] == method


def test_knn_uses_other_views_only(make_ws):
    a, b, c = unit(basis(0) + 0.5 * basis(1)), unit(basis(0) - 0.5 * basis(1)), basis(2)
    # image 0 holds two members of label 0 (a and c); image 1 holds b; labels 1 and 2 live in one image each
    ws = make_ws([[0, 0, 1], [0, 2]], [[a, c, basis(3)], [b, basis(4)]])
    new = smooth_features(ws, method="knn", alpha=1.0, k=1)
    (_, v0), (_, v1) = (ws.embeddings(new, r) for r in ws.images())
    np.testing.assert_allclose(v0[1], b, atol=1e-6)  # a's nearest in another view is b, never c
    np.testing.assert_allclose(v0[2], b, atol=1e-6)
    np.testing.assert_allclose(v1[1], a, atol=1e-6)  # b's nearest other-view member: a (closer than c)
    np.testing.assert_allclose(v0[3], basis(3), atol=1e-6)  # no member in another view: unchanged
    np.testing.assert_allclose(v1[2], basis(4), atol=1e-6)


def test_a_single_member_label_is_unchanged(make_ws):
    ws = make_ws([[0, 1], [1]], [[basis(0), basis(1)], [unit(basis(1) + basis(2))]])
    for method in ("prototype", "knn"):
        new = smooth_features(ws, key=ws.feature_key(feature_set="raw"), method=method, alpha=0.7, out_feature_set=f"s-{method}")
        np.testing.assert_allclose(ws.embeddings(new, ws.images()[0])[1][1], basis(0), atol=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 1.5}, "between 0 and 1"),
        ({"method": "median"}, "unknown smoothing method"),
        ({"method": "knn", "k": 0}, "at least 1"),
        ({"out_feature_set": "raw"}, "other than their source"),
    ],
)
def test_bad_options_are_refused(make_ws, options, message):
    ws, _ = noisy_ws(make_ws, images=2)
    with pytest.raises(SemlatError, match=message):
        smooth_features(ws, **options)


def test_rerun_with_other_settings_needs_a_new_name(make_ws):
    ws, _ = noisy_ws(make_ws, images=2)
    first = smooth_features(ws, alpha=0.3)
    assert smooth_features(ws, key=ws.feature_key(feature_set="raw"), alpha=0.3) == first  # same settings: resumes, nothing to do
    with pytest.raises(SemlatError, match="other settings"):
        smooth_features(ws, key=ws.feature_key(feature_set="raw"), alpha=0.6)


@pytest.mark.parametrize("method", ["prototype", "knn"])
def test_a_mislabelled_outlier_keeps_its_feature(make_ws, method):
    # label 0 in 5 images: four near e0, one (image 4) is really e2; 20% trim leaves it out
    near = [unit(basis(0) + 0.1 * basis(1)), unit(basis(0) - 0.1 * basis(1)), basis(0), unit(basis(0) + 0.1 * basis(3))]
    ws = make_ws([[0]] * 5, [[v] for v in near] + [[basis(2)]])
    kept = smooth_features(ws, key=ws.feature_key(feature_set="raw"), method=method, alpha=1.0, k=2, out_feature_set="kept")
    pulled = smooth_features(
        ws, key=ws.feature_key(feature_set="raw"), method=method, alpha=1.0, k=2, out_feature_set="pulled", keep_outliers=False
    )
    last = ws.images()[-1]
    np.testing.assert_allclose(ws.embeddings(kept, last)[1][1], basis(2), atol=1e-6)
    assert ws.embeddings(pulled, last)[1][1] @ basis(0) > 0.99  # pulled onto the trusted members
    first = ws.images()[0]
    assert ws.embeddings(kept, first)[1][1] @ basis(0) > 0.99 and ws.embeddings(kept, first)[1][1] @ basis(2) < 1e-6
