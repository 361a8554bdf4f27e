"""What an SfM run would reconstruct from the toy views: 3D points with their 2D observations.

Surface points are sampled in every view from its depth buffer (pixel centres that hit
something), lifted to 3D, and projected into every view; a view observes a point when the point
is in front of it, inside the image and not hidden (its depth agrees with the view's depth
buffer and the pixel shows the same instance). Points seen by at least two views are kept. Each
observation gets Gaussian pixel noise, and a small share are wrong (moved to a random pixel),
as mismatched features are in a real reconstruction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from semlat_toy.render import View


@dataclass(frozen=True)
class SfmSettings:
    """How the toy SfM points are made.

    Args:
        points_per_view: surface points sampled in each view.
        noise_px: standard deviation of the observations' pixel noise.
        wrong_share: share of observations moved to a random pixel.
        depth_tolerance: relative depth difference still counted as the same surface.
        min_views: fewest views observing a kept point.
    """

    points_per_view: int = 600
    noise_px: float = 0.5
    wrong_share: float = 0.02
    depth_tolerance: float = 0.03
    min_views: int = 2


@dataclass(frozen=True)
class SfmPoints:
    """3D points and their observations (COLMAP pixel convention: the top-left pixel's centre is (0.5, 0.5)).

    Args:
        xyz: (P, 3) world positions.
        rgb: (P, 3) uint8 colours.
        image: (M,) view index of each observation.
        xy: (M, 2) float pixel position of each observation.
        point: (M,) index into ``xyz`` of each observation.
    """

    xyz: npt.NDArray[np.float64]
    rgb: npt.NDArray[np.uint8]
    image: npt.NDArray[np.int64]
    xy: npt.NDArray[np.float64]
    point: npt.NDArray[np.int64]


def sfm_points(views: Sequence[View], seed: int, settings: SfmSettings | None = None) -> SfmPoints:
    """Points seen by at least ``min_views`` of ``views`` with noisy, sometimes wrong observations."""
    settings = settings or SfmSettings()
    rng = np.random.default_rng([seed, 3])
    xyz, rgb, instance = [], [], []
    for view in views:
        rows, cols = np.nonzero(view.depth > 0)
        pick = rng.choice(len(rows), size=min(settings.points_per_view, len(rows)), replace=False)
        rows, cols = rows[pick], cols[pick]
        camera, z = view.camera, view.depth[rows, cols].astype(np.float64)
        local = np.stack([(cols + 0.5 - camera.cx) / camera.fx * z, (rows + 0.5 - camera.cy) / camera.fy * z, z], axis=1)
        xyz.append((local - camera.t) @ camera.R)  # R^T (x - t), row-wise
        rgb.append(view.image[rows, cols])
        instance.append(view.instance[rows, cols])
    points, colours, ids = np.concatenate(xyz), np.concatenate(rgb), np.concatenate(instance)
    image, xy, point = [], [], []
    for index, view in enumerate(views):
        uv, seen = _observed(view, points, ids, settings.depth_tolerance)
        image.append(np.full(len(seen), index))
        xy.append(uv)
        point.append(seen)
    image_, xy_, point_ = np.concatenate(image), np.concatenate(xy), np.concatenate(point)
    count = np.bincount(point_, minlength=len(points))
    keep_point = count >= settings.min_views
    renumber = np.cumsum(keep_point) - 1
    keep = keep_point[point_]
    image_, xy_, point_ = image_[keep], xy_[keep], renumber[point_[keep]]
    xy_ = xy_ + rng.normal(0.0, settings.noise_px, xy_.shape)
    wrong = rng.uniform(size=len(xy_)) < settings.wrong_share
    sizes = np.array([[views[i].camera.width, views[i].camera.height] for i in image_[wrong]], np.float64).reshape(-1, 2)
    xy_[wrong] = rng.uniform(size=(int(wrong.sum()), 2)) * sizes
    for index, view in enumerate(views):  # noise may push a point off the image: clamp inside
        mine = image_ == index
        xy_[mine] = np.clip(xy_[mine], 0.0, [view.camera.width - 1e-3, view.camera.height - 1e-3])
    order = np.lexsort((point_, image_))
    return SfmPoints(points[keep_point], colours[keep_point], image_[order], xy_[order], point_[order])


def _observed(
    view: View, points: npt.NDArray[np.float64], ids: npt.NDArray[np.int32], tolerance: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(pixel positions, point indices) of the points ``view`` sees unoccluded."""
    camera = view.camera
    local = points @ camera.R.T + camera.t
    z = local[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = camera.fx * local[:, 0] / z + camera.cx
        v = camera.fy * local[:, 1] / z + camera.cy
    inside = (z > 1e-6) & (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    index = np.flatnonzero(inside)
    cols, rows = np.floor(u[index]).astype(np.int64), np.floor(v[index]).astype(np.int64)
    depth = view.depth[rows, cols]
    visible = (np.abs(depth - z[index]) <= tolerance * z[index]) & (view.instance[rows, cols] == ids[index])
    index = index[visible]
    return np.stack([u[index], v[index]], axis=1), index
