"""Model-free pieces of the SAM proposers: mask NMS, containment levels, clustering, caches."""

import numpy as np
import pytest

from semlat.regions import cache as cache_files
from semlat.regions import clustering
from semlat.regions.automatic import containment_levels, mask_nms
from semlat.regions.sam import Encoded, grid_coverage, low_res_coverage, mean_latent


def _box(shape, y0, y1, x0, x1):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_mask_nms_drops_near_duplicates_and_keeps_the_best():
    shape = (300, 400)
    masks = np.stack([_box(shape, 10, 110, 10, 110), _box(shape, 12, 110, 10, 110), _box(shape, 150, 250, 200, 300)])
    keep = mask_nms(masks, np.array([0.8, 0.9, 0.7]), 0.7)
    assert sorted(keep.tolist()) == [1, 2]
    assert mask_nms(masks, np.array([0.8, 0.9, 0.7]), 1.0).tolist() == [0, 1, 2]


def test_containment_levels_whole_part_subpart():
    shape = (256, 256)
    whole, part, sub, other = (
        _box(shape, 0, 200, 0, 200),
        _box(shape, 20, 120, 20, 120),
        _box(shape, 30, 60, 30, 60),
        _box(shape, 220, 250, 220, 250),
    )
    levels = containment_levels(np.stack([sub, whole, other, part]))
    assert levels.tolist() == [2, 0, 0, 1]


def test_cell_coverage_excludes_sams_padding():
    encoded = Encoded(np.zeros((256, 64, 64), np.float32), (1000, 1024), (500, 512))
    coverage = encoded.cell_coverage()
    assert coverage[:62].min() == 1.0 and coverage[62, 0] == pytest.approx(0.5) and coverage[63].max() == 0.0
    logits = np.full((1, 256, 256), 3.0)
    assert low_res_coverage(logits, coverage)[0, 63].max() == 0.0


def test_mean_latent_weights_cells_by_mask_coverage():
    latent = np.zeros((256, 64, 64), np.float32)
    latent[:, :32] = 1.0
    latent[:, 32:] = -1.0
    mask = np.zeros((100, 100), bool)
    mask[:50] = True
    weights = grid_coverage(mask, (1024, 1024))
    np.testing.assert_allclose(mean_latent(latent, weights), 1.0, atol=0.01)  # bilinear edge
    np.testing.assert_allclose(mean_latent(latent, np.zeros((64, 64))), latent[:, 0, 0])


def test_torch_kmeans_and_pca_match_scikit_learn():
    import torch

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 8)) * 10
    points = np.concatenate([c + rng.normal(size=(50, 8)) for c in centers]).astype(np.float32)
    sk_labels, _ = clustering.kmeans(points, 4)
    # the torch path is what runs on a GPU; it is plain torch, so it is checked here on CPU
    torch_labels, torch_centers = clustering._kmeans_torch(torch.as_tensor(points), 4, seed=0, n_init=2)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(sk_labels, torch_labels) == 1.0
    assert torch_centers.shape == (4, 8)
    reduced = clustering.pca(points, 3)
    assert reduced.shape == (200, 3)
    assert clustering.kmeans(points[:3], 5)[0].max() <= 2  # fewer points than clusters


def test_atomic_files_never_leave_partial_ones(tmp_path):
    path = tmp_path / "a" / "x.npy"
    cache_files.save_npy(path, np.arange(5, dtype=np.float16))
    np.testing.assert_array_equal(cache_files.load_npy(path), np.arange(5))
    path.write_bytes(b"garbage")
    assert cache_files.load_npy(path) is None
    assert [p.name for p in path.parent.iterdir()] == ["x.npy"]
    assert (
        cache_files.latents_dir(cache_files.region_cache_dir(tmp_path, "my set/1"), "m") == tmp_path / "cache" / "latents" / "m"
    )
