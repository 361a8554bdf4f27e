"""Toy SfM points: seen by at least two views, observations on the right surface, a few wrong."""

from __future__ import annotations

import numpy as np
import pytest

from semlat_toy import make_scene, render_scene
from semlat_toy.sfm import SfmSettings, sfm_points


@pytest.fixture(scope="module")
def views():
    return render_scene(make_scene(3), n_views=4, width=96, height=72)


def instance_of_points(views, points):
    """Point -> the instances at the pixels of its observations."""
    first = {}
    for image, xy, point in zip(points.image, points.xy, points.point):
        col, row = np.floor(xy).astype(int)
        first.setdefault(int(point), []).append(int(views[image].instance[row, col]))
    return first


def test_points_are_seen_by_two_views_and_observations_hit_their_surface(views):
    points = sfm_points(views, seed=0, settings=SfmSettings(points_per_view=300, noise_px=0.0, wrong_share=0.0))
    assert len(points.xyz) > 100 and points.rgb.shape == (len(points.xyz), 3)
    assert np.bincount(points.point).min() >= 2
    for index in range(len(views)):  # one observation per point and view
        mine = points.point[points.image == index]
        assert len(mine) == len(np.unique(mine))
    agree = [len(set(ids)) == 1 for ids in instance_of_points(views, points).values()]
    assert np.mean(agree) > 0.97  # exact projections of visible points land on the same instance
    for image, xy, point in zip(points.image[:50], points.xy[:50], points.point[:50]):  # and reproject exactly
        camera = views[image].camera
        local = camera.R @ points.xyz[point] + camera.t
        np.testing.assert_allclose(xy, [camera.fx * local[0] / local[2] + camera.cx, camera.fy * local[1] / local[2] + camera.cy])


def test_noise_and_wrong_observations(views):
    clean = sfm_points(views, seed=0, settings=SfmSettings(points_per_view=300, noise_px=0.0, wrong_share=0.0))
    noisy = sfm_points(views, seed=0, settings=SfmSettings(points_per_view=300, noise_px=0.5, wrong_share=0.1))
    np.testing.assert_array_equal(clean.point, noisy.point)
    moved = np.linalg.norm(clean.xy - noisy.xy, axis=1)
    assert 0.05 < np.mean(moved > 5) < 0.15  # about a tenth are wrong
    assert 0.3 < np.median(moved) < 1.0  # the rest carry half-pixel noise
    assert (noisy.xy >= 0).all() and (noisy.xy[:, 0] < 96).all() and (noisy.xy[:, 1] < 72).all()
    again = sfm_points(views, seed=0, settings=SfmSettings(points_per_view=300, noise_px=0.5, wrong_share=0.1))
    np.testing.assert_array_equal(again.xy, noisy.xy)  # deterministic
