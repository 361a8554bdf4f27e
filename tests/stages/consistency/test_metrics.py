"""`compute_metrics`: every number of hand-built workspaces, known by construction."""

import numpy as np
import pytest

from semlat.stages.consistency import compute_metrics
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
