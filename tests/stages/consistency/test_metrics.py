import json

import numpy as np
import pytest

from semlat.stages.consistency import compute_metrics, write_report
from semlat.stages.consistency.measures import intra_label_variance, mean_cosine_to_prototype, robust_prototype, similarity_matrix
from tests.stages.consistency.conftest import basis, unit

E1, E2, E3 = basis(0), basis(1), basis(2)


def test_tight_far_apart_labels_have_known_numbers(make_ws):
    # labels 0, 1, 2: every member exactly e0, e1, e2, one region per label in each of 3 images
    ws = make_ws([[0, 1, 2]] * 3, [[E1, E2, E3]] * 3)
    m = compute_metrics(ws)
    assert [s.label for s in m.labels] == [0, 1, 2]
    for s in m.labels:
        assert (s.members, s.images) == (3, 3)
        assert s.intra_variance == pytest.approx(0.0, abs=1e-12)
        assert s.mean_cosine == pytest.approx(1.0)
        assert s.overall_similarity == pytest.approx(-1.0)
    # centred prototypes of three orthonormal vectors are 120° apart
    np.testing.assert_allclose(m.similarity, [[1, -0.5, -0.5], [-0.5, 1, -0.5], [-0.5, -0.5, 1]], atol=1e-6)
    assert m.summary["labels"] == 3 and m.summary["labelled_regions"] == 9


def test_overlapping_labels_have_known_numbers(make_ws):
    # labels 0 and 1 share their members {e0, e0, e1}; label 2 is e2
    ws = make_ws([[0, 1, 2], [0, 1, 2], [0, 1, 2]], [[E1, E1, E3], [E1, E1, E3], [E2, E2, E3]])
    m = compute_metrics(ws)
    a, b, c = m.labels
    # distances to the mean (2/3, 1/3, 0) are a, a, 2a with a = sqrt(2)/3: variance 2a²/9 = 4/81
    assert a.intra_variance == pytest.approx(4 / 81) and b.intra_variance == pytest.approx(4 / 81)
    assert a.mean_cosine == pytest.approx(np.sqrt(5) / 3, rel=1e-6)
    assert m.similarity[0, 1] == pytest.approx(1.0) and m.similarity[0, 2] == pytest.approx(-1.0)
    assert [a.overall_similarity, b.overall_similarity, c.overall_similarity] == pytest.approx([0.0, 0.0, -2.0], abs=1e-6)
    assert c.intra_variance == pytest.approx(0.0, abs=1e-12) and c.mean_cosine == pytest.approx(1.0)


def test_a_label_with_one_member(make_ws):
    ws = make_ws([[0, 1], [1, -1]], [[E1, E2], [unit(E2 + 0.2 * E3), E3]])
    m = compute_metrics(ws)
    single = m.labels[0]
    assert (single.label, single.members, single.images) == (0, 1, 1)
    assert single.intra_variance == 0.0 and single.mean_cosine == pytest.approx(1.0)
    assert m.summary["regions"] == 4 and m.summary["labelled_regions"] == 3


def test_only_one_label_is_defined():
    assert similarity_matrix(np.array([[0.3, 0.4]])).tolist() == [[1.0]]
    assert intra_label_variance(np.array([[1.0, 0.0]])) == 0.0
    assert mean_cosine_to_prototype(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(np.sqrt(0.5))


def test_robust_prototype_ignores_an_outlier():
    members = np.stack([E1, E1, unit(E1 + 0.1 * E2), unit(E1 - 0.1 * E2), E3])
    np.testing.assert_allclose(robust_prototype(members), E1, atol=1e-6)  # e2 (1 of 5 = 20%) left out
    assert robust_prototype(members[:4]) @ E1 > 0.99


def test_report_is_self_contained(make_ws, tmp_path):
    rng = np.random.default_rng(1)
    labels = [[0, 1, 2, -1]] * 5
    vectors = [
        [unit(E1 + 0.1 * rng.normal(size=6)), unit(E2 + 0.1 * rng.normal(size=6)), unit(E3 + 0.1 * rng.normal(size=6)), basis(4)]
        for _ in range(5)
    ]
    ws = make_ws(labels, vectors)
    html_path = write_report(compute_metrics(ws), tmp_path / "out")
    out = html_path.parent
    for name in (
        "metrics.json",
        "labels.png",
        "similarity.png",
        "embedding_labels.png",
        "embedding_position.png",
        "hints/label_0.png",
    ):
        assert (out / name).is_file(), name
    text = html_path.read_text()
    assert text.count("data:image/png;base64,") == 4 + 3  # bars, heatmap, 2 scatters, 3 hint sheets
    assert 'src="http' not in text and "<script" not in text
    data = json.loads((out / "metrics.json").read_text())
    assert data["label_ids"] == [0, 1, 2] and len(data["labels"]) == 3 and data["summary"]["regions"] == 20
    from PIL import Image

    sheet = np.asarray(Image.open(out / "hints/label_0.png"))
    assert sheet.shape[1] == 5 * 128 + 4 * 4  # one crop from each of the 5 images


def test_report_of_a_single_label_and_a_missing_photo(make_ws, tmp_path):
    ws = make_ws([[0, -1], [0]], [[E1, E2], [E1]])
    (tmp_path / "images" / "view_01.png").unlink()
    text = write_report(compute_metrics(ws), tmp_path / "one").read_text()
    assert "label 0" in text and "could not be read" in text and "view_01.png" in text
    assert (tmp_path / "one" / "similarity.png").is_file()
