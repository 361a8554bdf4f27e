"""Cameras: world -> camera poses with x right, y down, z forward; the orbit; rays through pixel centres."""

from __future__ import annotations

import numpy as np
import pytest

from semlat_toy import look_at, orbit_cameras, ray_directions


def to_pixel(camera, point) -> tuple[float, float, float]:
    """(col, row, z-depth) of a world point, by the documented convention ``x_cam = R x + t``."""
    x, y, z = camera.R @ np.asarray(point, dtype=np.float64) + camera.t
    return camera.fx * x / z + camera.cx, camera.fy * y / z + camera.cy, z


@pytest.mark.parametrize(
    "eye, target",
    [
        ((5.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, -3.0, 2.0), (0.2, 0.1, 0.4)),
        ((0.0, 0.0, 4.0), (0.0, 0.0, 0.0)),  # straight down, along world up
    ],
)
def test_look_at_sees_the_target_at_the_image_centre(eye, target):
    camera = look_at(eye, target, 64, 48)
    np.testing.assert_allclose(camera.R @ camera.R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(camera.R) == pytest.approx(1.0)
    np.testing.assert_allclose(camera.centre, eye, atol=1e-12)
    col, row, z = to_pixel(camera, target)
    assert (col, row) == pytest.approx((32.0, 24.0))
    assert z == pytest.approx(np.linalg.norm(np.subtract(target, eye)))


def test_world_up_is_image_up_and_the_field_of_view_is_horizontal():
    camera = look_at((5.0, 0.0, 0.0), (0.0, 0.0, 0.0), 64, 48, fov_deg=90.0)
    assert camera.fx == camera.fy == pytest.approx(32.0)  # tan(45°) = 1: half the width at unit depth
    col, row, _ = to_pixel(camera, (0.0, 0.0, 1.0))
    assert col == pytest.approx(32.0) and row < 24.0
    col, row, _ = to_pixel(camera, (0.0, 1.0, 0.0))  # seen from +x, world +y is on the right
    assert col > 32.0 and row == pytest.approx(24.0)


def test_orbit_circles_the_target_at_swinging_heights():
    target = np.array([0.0, 0.0, 0.35])
    cameras = orbit_cameras(12, radius=5.0, elevations_deg=(15.0, 45.0), target=tuple(target), width=40, height=30)
    assert len(cameras) == 12
    offsets = np.array([camera.centre for camera in cameras]) - target
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=1), 5.0)
    elevations = np.degrees(np.arcsin(offsets[:, 2] / 5.0))
    assert elevations.min() == pytest.approx(15.0) and elevations.max() == pytest.approx(45.0)
    azimuths = np.unwrap(np.arctan2(offsets[:, 1], offsets[:, 0]))
    assert np.degrees(azimuths[0]) == pytest.approx(20.0)
    np.testing.assert_allclose(np.degrees(np.diff(azimuths)), 30.0)
    for camera in cameras:
        assert (camera.width, camera.height) == (40, 30)
        assert to_pixel(camera, target)[:2] == pytest.approx((20.0, 15.0))


def test_rays_are_unit_and_pass_through_pixel_centres():
    camera = look_at((1.0, -3.0, 2.0), (0.2, 0.1, 0.4), 8, 6)
    rays = ray_directions(camera)
    assert rays.shape == (6, 8, 3)
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0)
    for row, col in [(0, 0), (5, 7), (2, 3)]:
        col_, row_, z = to_pixel(camera, camera.centre + 2.0 * rays[row, col])
        assert (col_, row_) == pytest.approx((col + 0.5, row + 0.5)) and z > 0
