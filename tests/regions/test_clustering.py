"""PCA and KMeans of the clustered mask step: the torch path (run on GPUs) agrees with scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from semlat.regions import clustering


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 8)) * 10
    return np.concatenate([c + rng.normal(size=(50, 8)) for c in centers]).astype(np.float32)


def test_torch_kmeans_matches_scikit_learn(blobs):
    sk_labels, _ = clustering.kmeans(blobs, 4)
    assert adjusted_rand_score(sk_labels, np.repeat(np.arange(4), 50)) == 1.0
    # the torch path is what runs on a GPU; it is plain torch, so it is checked here on CPU
    torch_labels, torch_centers = clustering._kmeans_torch(torch.as_tensor(blobs), 4, seed=0, n_init=2)
    assert adjusted_rand_score(sk_labels, torch_labels) == 1.0
    for cluster in range(4):
        np.testing.assert_allclose(torch_centers[cluster], blobs[torch_labels == cluster].mean(0), atol=1e-4)


def test_kmeans_with_fewer_points_than_clusters_gives_each_point_its_own():
    points = np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]], np.float32)
    labels, centers = clustering.kmeans(points, 5)
    assert sorted(labels.tolist()) == [0, 1, 2]
    np.testing.assert_allclose(centers[labels], points)


def test_pca_keeps_the_directions_of_most_variance(blobs):
    reduced = clustering.pca(blobs, 3)
    variances = reduced.var(axis=0)
    assert list(variances) == sorted(variances, reverse=True)
    centred = blobs - blobs.mean(0)
    assert variances.sum() > 0.9 * centred.var(axis=0).sum()  # four blobs span three dimensions
    assert clustering.pca(blobs[:1], 3).shape == (1, 1) and not clustering.pca(blobs[:1], 3).any()
