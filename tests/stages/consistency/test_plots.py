"""The report's figures: label colours, the 2-D embedding, the YUV position colours, PNGs that open."""

import numpy as np
import pytest
from PIL import Image

from semlat.stages.consistency.collect import RegionFeatures
from semlat.stages.consistency.metrics import metrics_from_table
from semlat.stages.consistency.plots import (
    embed_2d,
    embedding_scatters,
    label_bars,
    label_colours,
    similarity_heatmap,
    yuv_colours,
)
from tests.stages.consistency.conftest import KEY, unit


def _pairwise(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


def metrics_of(labels: list[int], seed: int = 0):
    """Metrics of one region per entry of ``labels`` (one image each), vectors near one direction per label."""
    rng = np.random.default_rng(seed)
    directions = unit(rng.normal(size=(max(labels) + 1, 8)))
    vectors = unit(directions[labels] + 0.05 * rng.normal(size=(len(labels), 8)))
    n = len(labels)
    table = RegionFeatures(KEY, np.arange(n, dtype=np.int32), np.zeros(n, np.int32), np.array(labels, np.int32), vectors)
    return metrics_from_table(table)


@pytest.mark.parametrize("count", [1, 3, 20, 21, 40])
def test_every_label_gets_its_own_colour(count):
    colours = label_colours(count)
    assert colours.shape == (count, 4) and len(np.unique(colours, axis=0)) == count


def test_one_point_sits_at_the_origin():
    rows, coords = embed_2d(np.ones((1, 6)))
    assert rows.tolist() == [0] and coords.tolist() == [[0.0, 0.0]]


def test_identical_points_sit_at_the_origin():
    rows, coords = embed_2d(np.ones((5, 6)))
    assert rows.tolist() == [0, 1, 2, 3, 4] and coords.shape == (5, 2) and not coords.any()


@pytest.mark.parametrize("dim", [1, 6])
def test_a_handful_of_points_in_a_plane_keep_their_distances(dim):
    rng = np.random.default_rng(dim)
    plane = rng.normal(size=(5, 2))
    basis = np.linalg.qr(rng.normal(size=(dim, 2)))[0][:, : min(dim, 2)]
    points = plane[:, : basis.shape[1]] @ basis.T + 3.0  # five points on a plane (a line in 1-d), moved off the origin
    rows, coords = embed_2d(points)
    assert rows.tolist() == [0, 1, 2, 3, 4] and coords.shape == (5, 2)
    np.testing.assert_allclose(_pairwise(coords), _pairwise(points), atol=1e-9)


def test_above_max_points_a_fixed_random_subset_is_embedded():
    points = np.random.default_rng(0).normal(size=(12, 2))
    rows, coords = embed_2d(points, seed=3, max_points=5)
    assert len(rows) == 5 == len(set(rows.tolist())) and rows.tolist() == sorted(rows.tolist())
    np.testing.assert_allclose(_pairwise(coords), _pairwise(points[rows]), atol=1e-9)
    again, _ = embed_2d(points, seed=3, max_points=5)
    other, _ = embed_2d(points, seed=4, max_points=5)
    assert again.tolist() == rows.tolist() and other.tolist() != rows.tolist()


def test_tsne_keeps_clusters_apart_and_repeats_with_its_seed():
    rng = np.random.default_rng(0)
    centres = unit(rng.normal(size=(2, 8)))
    points = unit(np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(20, 8)))
    rows, coords = embed_2d(points, seed=1)
    assert rows.tolist() == list(range(20))
    distances = _pairwise(coords) + np.diag(np.full(20, np.inf))
    nearest = distances.argmin(axis=1)
    assert ((nearest < 10) == (np.arange(20) < 10)).all()  # every point's 2-D neighbour is of its own cluster
    np.testing.assert_allclose(embed_2d(points, seed=1)[1], coords)


def test_position_colours_are_grey_in_the_middle_and_ignore_scale():
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    colours = yuv_colours(coords, luminance=0.4)
    np.testing.assert_allclose(colours[4], [0.4, 0.4, 0.4])  # u = v = 0
    assert len(np.unique(colours[:4].round(6), axis=0)) == 4  # the corners differ
    np.testing.assert_allclose(yuv_colours(10 * coords - 7, luminance=0.4), colours)
    flat = yuv_colours(np.ones((3, 2)))
    np.testing.assert_allclose(flat, np.broadcast_to(flat[0], (3, 3)))


def test_figures_are_pngs_sized_to_the_labels(tmp_path):
    few, many = metrics_of([0, 1, 2, 0, 1, 2]), metrics_of(list(range(16)) * 2)  # wide enough for bigger figures
    sizes = {}
    for name, metrics in (("few", few), ("many", many)):
        bars = label_bars(metrics, tmp_path / name / "labels.png")
        heatmap = similarity_heatmap(metrics, tmp_path / name / "similarity.png")
        by_label, by_position = embedding_scatters(metrics, tmp_path / name / "a.png", tmp_path / name / "b.png")
        assert (bars, heatmap, by_label, by_position) == tuple(
            tmp_path / name / f for f in ("labels.png", "similarity.png", "a.png", "b.png")
        )
        for path in (bars, heatmap, by_label, by_position):
            with Image.open(path) as png:
                assert png.format == "PNG"
                sizes[name, path.name] = png.size
        assert by_label.read_bytes() != by_position.read_bytes()  # coloured by label, then by position
    assert sizes["many", "similarity.png"][0] > sizes["few", "similarity.png"][0]
    assert sizes["many", "labels.png"][0] > sizes["few", "labels.png"][0]
