"""Vectorised numpy ray caster: one ray per pixel centre, Lambertian shading, hard shadows.

The loop runs over primitives only; all pixels of a view are intersected at once. Ground truth
comes from the same rays as the colours, so the instance map is exact at every pixel centre (no
anti-aliasing: a pixel's colour is the colour of the instance its centre sees).

A textured scene (`Scene.textured`) modulates every albedo by solid value noise of the 3D point
(two octaves), so a surface looks the same from every view and feature matching finds corners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from semlat_toy.camera import Camera, orbit_cameras, ray_directions
from semlat_toy.primitives import FloatArray, Hit, intersect_object, nearest, rectangle
from semlat_toy.scene import FLOOR_ID, SKY_ID, WALL_IDS, Room, Scene

Intersector = Callable[[FloatArray, FloatArray], Hit]
SHADOW_OFFSET = 1e-4


@dataclass(frozen=True, eq=False)
class View:
    """One rendered view: colours, the instance id seen at each pixel centre, its z-depth
    (distance along the optical axis; 0 where the ray hits nothing) and the camera."""

    image: npt.NDArray[np.uint8]  # (H, W, 3)
    instance: npt.NDArray[np.int32]  # (H, W)
    depth: npt.NDArray[np.float32]  # (H, W)
    camera: Camera


def render_scene(scene: Scene, n_views: int = 12, width: int = 256, height: int = 192) -> list[View]:
    """Render ``scene`` from the default orbit (`orbit_cameras`)."""
    return [render_view(scene, camera) for camera in orbit_cameras(n_views, width=width, height=height)]


def render_view(scene: Scene, camera: Camera) -> View:
    """Render one view of ``scene``: any scene (a single object, no room) and any camera work."""
    directions = ray_directions(camera).reshape(-1, 3)
    origins = np.broadcast_to(camera.centre, directions.shape)
    surfaces = _surfaces(scene)
    n_rays = len(directions)
    if surfaces:
        hit, winner = nearest([intersect(origins, directions) for _, intersect in surfaces])
        ids = np.array([instance for instance, _ in surfaces], dtype=np.int32)[winner]
    else:
        hit, ids = Hit(np.full(n_rays, np.inf), np.zeros((n_rays, 3))), np.zeros(n_rays, np.int32)
    seen = np.isfinite(hit.t)
    ids[~seen] = SKY_ID
    t = np.where(seen, hit.t, 0.0)
    points = origins + t[:, None] * directions
    normal = np.where((np.einsum("ij,ij->i", hit.normal, directions) > 0)[:, None], -hit.normal, hit.normal)

    light = np.asarray(scene.light_dir, dtype=np.float64)
    light /= np.linalg.norm(light)
    facing = np.clip(normal @ light, 0.0, None)
    lit = _unshadowed(scene, points, normal, light, seen & (facing > 0))
    shade = scene.ambient + (1.0 - scene.ambient) * facing * lit
    colour = _albedo(scene, ids, points) * shade[:, None]
    colour[~seen] = scene.sky_colour

    shape = (camera.height, camera.width)
    depth = (t * (directions @ camera.R[2])).astype(np.float32)
    image = np.round(np.clip(colour, 0.0, 1.0) * 255.0).astype(np.uint8)
    return View(image.reshape(*shape, 3), ids.reshape(shape), depth.reshape(shape), camera)


def _surfaces(scene: Scene) -> list[tuple[int, Intersector]]:
    """(instance id, intersector) for the room's planes and every object."""
    surfaces: list[tuple[int, Intersector]] = []
    if scene.room is not None:
        surfaces += [(instance, _rect(*spec)) for instance, spec in zip((FLOOR_ID, *WALL_IDS), _room_rects(scene.room))]
    for obj in scene.objects:
        surfaces.append((obj.instance_id, lambda o, d, obj=obj: intersect_object(obj, o, d)))
    return surfaces


def _room_rects(room: Room) -> list[tuple[int, float, tuple[float, float], tuple[float, float], float]]:
    """Floor then walls at x = -L, x = +L, y = -L, y = +L, each with its normal facing inwards."""
    size, top = room.half_size, room.wall_height
    return [
        (2, 0.0, (-size, -size), (size, size), 1.0),
        (0, -size, (-size, 0.0), (size, top), 1.0),
        (0, size, (-size, 0.0), (size, top), -1.0),
        (1, -size, (-size, 0.0), (size, top), 1.0),
        (1, size, (-size, 0.0), (size, top), -1.0),
    ]


def _rect(axis: int, position: float, lo: tuple[float, float], hi: tuple[float, float], sign: float) -> Intersector:
    return lambda o, d: rectangle(o, d, axis, position, lo, hi, sign)


def _unshadowed(
    scene: Scene, points: FloatArray, normal: FloatArray, light: FloatArray, candidates: npt.NDArray[np.bool_]
) -> FloatArray:
    """1 where the light reaches the point, 0 where an object blocks it (walls cast no shadows)."""
    lit = np.ones(len(points))
    index = np.flatnonzero(candidates)
    if len(index) == 0 or not scene.objects:
        return lit
    origins = points[index] + SHADOW_OFFSET * normal[index]
    directions = np.broadcast_to(light, origins.shape)
    blocked = np.zeros(len(index), dtype=bool)
    for obj in scene.objects:
        blocked |= np.isfinite(intersect_object(obj, origins, directions).t)
    lit[index[blocked]] = 0.0
    return lit


TEXTURE_SCALES: tuple[tuple[float, float], ...] = ((0.1, 0.5), (0.3, 0.5))
"""(cell size in world units, weight) of the value-noise octaves of textured scenes."""


def value_noise(points: FloatArray, scale: float, seed: int) -> FloatArray:
    """Smooth solid noise in [0, 1] at ``points`` (N, 3): hashed lattice values, trilinear blend."""
    p = points / scale
    cell = np.floor(p).astype(np.int64)
    f = p - cell
    f = f * f * (3.0 - 2.0 * f)
    total = np.zeros(len(points))
    for corner in np.ndindex(2, 2, 2):
        lattice = cell + np.asarray(corner)
        h = (lattice * np.array([73856093, 19349663, 83492791])).sum(axis=1) ^ (seed * 2654435761)
        h = (h ^ (h >> 13)) * 0x45D9F3B
        h = (h ^ (h >> 16)) & 0xFFFFFF
        weight = np.prod(np.where(np.asarray(corner, bool), f, 1.0 - f), axis=1)
        total += weight * (h / float(0xFFFFFF))
    return total


def _texture(ids: npt.NDArray[np.int32], points: FloatArray) -> FloatArray:
    """Brightness factor of textured surfaces, each instance with its own noise."""
    noise = np.zeros(len(ids))
    for scale, weight in TEXTURE_SCALES:
        noise += weight * value_noise(points, scale, 0) * 0.5 + weight * value_noise(points + ids[:, None], scale, 1) * 0.5
    return np.clip(0.2 + 1.6 * noise, 0.3, 1.4)


def _albedo(scene: Scene, ids: npt.NDArray[np.int32], points: FloatArray) -> FloatArray:
    albedo = _flat_albedo(scene, ids, points)
    return albedo * _texture(ids, points)[:, None] if scene.textured else albedo


def _flat_albedo(scene: Scene, ids: npt.NDArray[np.int32], points: FloatArray) -> FloatArray:
    albedo = np.zeros((len(ids), 3))
    for obj in scene.objects:
        albedo[ids == obj.instance_id] = obj.albedo
    room = scene.room
    if room is not None:
        albedo[np.isin(ids, WALL_IDS)] = room.wall_colour
        floor = ids == FLOOR_ID
        cells = np.floor(points[floor, :2] / room.checker).astype(np.int64).sum(axis=1) % 2
        albedo[floor] = np.asarray(room.floor_colours)[cells]
    return albedo
