"""The original's consistency numbers on hand-built (members, D) arrays."""

import numpy as np
import pytest

from semlat.stages.consistency.measures import (
    intra_label_variance,
    label_means,
    mean_cosine_to_prototype,
    overall_similarity,
    robust_prototype,
    similarity_matrix,
    trimmed_members,
)
from tests.stages.consistency.conftest import basis, unit

E1, E2, E3 = basis(0), basis(1), basis(2)


def test_only_one_label_is_defined():
    assert similarity_matrix(np.array([[0.3, 0.4]])).tolist() == [[1.0]]
    assert intra_label_variance(np.array([[1.0, 0.0]])) == 0.0
    assert mean_cosine_to_prototype(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(np.sqrt(0.5))


def test_intra_label_variance_is_the_variance_of_the_distances_to_the_mean():
    # mean (1, 0): distances 1, 1, 2, 2
    members = np.array([[1.0, 1.0], [1.0, -1.0], [3.0, 0.0], [-1.0, 0.0]])
    assert members.mean(axis=0).tolist() == [1.0, 0.0]
    assert intra_label_variance(members) == pytest.approx(0.25)
    assert intra_label_variance(np.stack([E1, E2, E3])) == pytest.approx(0.0, abs=1e-12)  # all equally far


def test_mean_cosine_uses_the_given_prototype():
    members = np.stack([E1, unit(E1 + E2)])
    assert mean_cosine_to_prototype(members, E1) == pytest.approx((1 + np.sqrt(0.5)) / 2)
    assert mean_cosine_to_prototype(members, 5 * E1) == pytest.approx((1 + np.sqrt(0.5)) / 2)  # only its direction counts
    assert mean_cosine_to_prototype(members, E3) == pytest.approx(0.0)


def test_label_means_follow_label_ids_whatever_the_row_order():
    vectors = np.array([[2.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    labels = np.array([7, 3, 7, 3, 9])
    np.testing.assert_allclose(label_means(vectors, labels, np.array([3, 7, 9])), [[0, 3], [3, 0], [1, 1]])


def test_similarity_is_the_cosine_of_centred_prototypes_and_overall_its_column_sum_minus_one():
    prototypes = np.stack([E1, E2, unit(E1 + E2)])
    similarity = similarity_matrix(prototypes)
    centred = prototypes - prototypes.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    np.testing.assert_allclose(similarity, centred @ centred.T, atol=1e-6)
    np.testing.assert_allclose(overall_similarity(similarity), similarity.sum(axis=0) - 1)
    assert overall_similarity(np.array([[1.0, 0.5], [0.5, 1.0]])).tolist() == [0.5, 0.5]


def test_identical_prototypes_have_no_direction_after_centring():
    similarity = similarity_matrix(np.stack([E1, E1]))
    assert similarity.tolist() == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(("members", "dropped"), [(1, 0), (4, 0), (5, 1), (9, 1), (10, 2)])
def test_the_trim_leaves_out_floor_of_a_fifth_of_the_members_least_like_the_mean(members, dropped):
    rng = np.random.default_rng(members)
    vectors = unit(E1 + 0.1 * rng.normal(size=(members, 6)))
    outliers = [E2, E3][:dropped]
    if dropped:
        vectors[-dropped:] = outliers
    keep = trimmed_members(vectors)
    assert keep.sum() == members - dropped
    assert not keep[members - dropped :].any()


def test_robust_prototype_ignores_an_outlier():
    members = np.stack([E1, E1, unit(E1 + 0.1 * E2), unit(E1 - 0.1 * E2), E3])
    np.testing.assert_allclose(robust_prototype(members), E1, atol=1e-6)  # e2 (1 of 5 = 20%) left out
    assert robust_prototype(members[:4]) @ E1 > 0.99
