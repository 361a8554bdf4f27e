"""Pinhole cameras in the COLMAP/OpenCV convention, and the orbit the toy scenes are shot from.

A camera maps world points to its frame by ``x_cam = R @ x_world + t`` (world -> camera, as in
COLMAP's images.txt); camera axes are x right, y down, z forward. Pixel (col, row) covers
[col, col+1) x [row, row+1), so its centre is at (col + 0.5, row + 0.5), again as in COLMAP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Camera:
    """Intrinsics (pixels) plus world -> camera pose."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    R: FloatArray
    t: FloatArray

    @property
    def centre(self) -> FloatArray:
        """Camera centre in world coordinates, ``-R^T t``."""
        return -self.R.T @ self.t


def look_at(
    eye: npt.ArrayLike,
    target: npt.ArrayLike,
    width: int = 256,
    height: int = 192,
    fov_deg: float = 55.0,
    up: npt.ArrayLike = (0.0, 0.0, 1.0),
) -> Camera:
    """A camera at ``eye`` looking at ``target`` with square pixels and horizontal field of view
    ``fov_deg``; the image's up is as close to world ``up`` (z) as possible."""
    eye_ = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye_
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: any right vector will do
        right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    focal = (width / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return Camera(width, height, focal, focal, width / 2.0, height / 2.0, R, -R @ eye_)


def orbit_cameras(
    n_views: int = 12,
    radius: float = 5.0,
    elevations_deg: tuple[float, float] = (15.0, 45.0),
    target: tuple[float, float, float] = (0.0, 0.0, 0.35),
    width: int = 256,
    height: int = 192,
    fov_deg: float = 55.0,
    azimuth_offset_deg: float = 20.0,
) -> list[Camera]:
    """``n_views`` cameras evenly spaced in azimuth around ``target`` at distance ``radius``; the
    elevation swings between the two bounds twice per orbit so views differ in height too."""
    low, high = elevations_deg
    cameras = []
    for index in range(n_views):
        azimuth = np.radians(azimuth_offset_deg + 360.0 * index / n_views)
        elevation = np.radians(low + (high - low) * 0.5 * (1.0 - np.cos(4.0 * np.pi * index / n_views)))
        offset = radius * np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
        cameras.append(look_at(np.asarray(target) + offset, target, width, height, fov_deg))
    return cameras


def ray_directions(camera: Camera) -> FloatArray:
    """Unit world-space directions (H, W, 3) of the rays through every pixel centre."""
    cols = (np.arange(camera.width) + 0.5 - camera.cx) / camera.fx
    rows = (np.arange(camera.height) + 0.5 - camera.cy) / camera.fy
    grid = np.empty((camera.height, camera.width, 3))
    grid[..., 0] = cols[None, :]
    grid[..., 1] = rows[:, None]
    grid[..., 2] = 1.0
    directions = grid @ camera.R  # rows of R are the camera axes in world coordinates
    return directions / np.linalg.norm(directions, axis=-1, keepdims=True)
