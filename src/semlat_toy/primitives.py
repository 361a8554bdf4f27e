"""Analytic ray-primitive intersections, vectorised over rays.

Every function takes ray origins ``o`` (N, 3) and unit directions ``d`` (N, 3) and returns a
``Hit``: distance ``t`` (N,) along the ray (``inf`` where the ray misses) and the unit outward
normal (N, 3) at the hit (zeros where it misses). Only hits with ``t > EPS`` count, so shadow
rays can start on a surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from semlat_toy.scene import SceneObject

FloatArray = npt.NDArray[np.float64]
EPS = 1e-6


@dataclass
class Hit:
    t: FloatArray
    normal: FloatArray


def nearest(hits: list[Hit]) -> tuple[Hit, npt.NDArray[np.intp]]:
    """Per ray, the closest of several hits, and the index of the hit that won."""
    ts = np.stack([hit.t for hit in hits])
    winner = np.argmin(ts, axis=0)
    rays = np.arange(ts.shape[1])
    normals = np.stack([hit.normal for hit in hits])
    return Hit(ts[winner, rays], normals[winner, rays]), winner


def _roots(a: FloatArray, b: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Both roots of a t^2 + 2 b t + c = 0 (nan where none), in the form that stays accurate as
    a -> 0 (rays nearly parallel to a cone's side or a cylinder's axis)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = b * b - a * c
        q = -(b + np.copysign(np.sqrt(disc), b))
        return q / a, c / q


def _valid(t: FloatArray, ok: npt.NDArray[np.bool_]) -> FloatArray:
    with np.errstate(invalid="ignore"):
        return np.where(ok & (t > EPS), t, np.inf)


def _rotate_z(v: FloatArray, angle: float) -> FloatArray:
    """Rotate row vectors by ``angle`` about z."""
    c, s = np.cos(angle), np.sin(angle)
    return v @ np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def sphere(o: FloatArray, d: FloatArray, centre: FloatArray, radius: float) -> Hit:
    oc = o - centre
    a, b = np.einsum("ij,ij->i", d, d), np.einsum("ij,ij->i", oc, d)
    t0, t1 = _roots(a, b, np.einsum("ij,ij->i", oc, oc) - radius**2)
    lo, hi = np.fmin(t0, t1), np.fmax(t0, t1)
    ok = np.isfinite(lo)
    t = np.minimum(_valid(lo, ok), _valid(hi, ok))
    point = oc + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    normal = np.where(np.isfinite(t)[:, None], point / radius, 0.0)
    return Hit(t, normal)


def box(o: FloatArray, d: FloatArray, centre: FloatArray, half: FloatArray, yaw: float) -> Hit:
    """Box with half extents ``half`` rotated by ``yaw`` about z: slab method in its own frame."""
    lo_, ld = _rotate_z(o - centre, -yaw), _rotate_z(d, -yaw)
    safe = np.where(np.abs(ld) < 1e-12, np.copysign(1e-12, ld), ld)
    with np.errstate(over="ignore"):
        t1, t2 = (-half - lo_) / safe, (half - lo_) / safe
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    t_near, t_far = near.max(axis=1), far.min(axis=1)
    ok = t_far >= np.maximum(t_near, EPS)
    t = np.where(ok, np.where(t_near > EPS, t_near, t_far), np.inf)
    axis = np.argmax(near, axis=1)
    local = np.zeros_like(ld)
    rows = np.arange(len(ld))
    local[rows, axis] = -np.sign(ld[rows, axis])
    normal = np.where(ok[:, None], _rotate_z(local, yaw), 0.0)
    return Hit(t, normal)


def cylinder(o: FloatArray, d: FloatArray, base: FloatArray, radius: float, height: float) -> Hit:
    """Vertical capped cylinder standing on ``base`` (centre of its bottom disc)."""
    p = o - base
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = p[:, 0] * d[:, 0] + p[:, 1] * d[:, 1]
    t0, t1 = _roots(a, b, p[:, 0] ** 2 + p[:, 1] ** 2 - radius**2)
    candidates = []
    for root in (t0, t1):
        with np.errstate(invalid="ignore"):
            z = p[:, 2] + root * d[:, 2]
            t = _valid(root, (z >= 0.0) & (z <= height))
        point = p + np.where(np.isfinite(t), t, 0.0)[:, None] * d
        side = np.stack([point[:, 0] / radius, point[:, 1] / radius, np.zeros(len(t))], axis=1)
        candidates.append(Hit(t, side))
    candidates += [_disc(p, d, height, radius, 1.0), _disc(p, d, 0.0, radius, -1.0)]
    return _finish(nearest(candidates)[0])


def cone(o: FloatArray, d: FloatArray, base: FloatArray, radius: float, height: float) -> Hit:
    """Vertical cone with its base disc centred on ``base`` and its apex ``height`` above."""
    p = o - base
    q = p - np.array([0.0, 0.0, height])  # relative to the apex: the side is x^2 + y^2 = k^2 z^2, z in [-h, 0]
    k2 = (radius / height) ** 2
    a = d[:, 0] ** 2 + d[:, 1] ** 2 - k2 * d[:, 2] ** 2
    b = q[:, 0] * d[:, 0] + q[:, 1] * d[:, 1] - k2 * q[:, 2] * d[:, 2]
    c = q[:, 0] ** 2 + q[:, 1] ** 2 - k2 * q[:, 2] ** 2
    candidates = []
    for root in _roots(a, b, c):
        with np.errstate(invalid="ignore"):
            z = q[:, 2] + root * d[:, 2]
            t = _valid(root, (z >= -height) & (z <= 0.0))
        point = q + np.where(np.isfinite(t), t, 0.0)[:, None] * d
        grad = np.stack([point[:, 0], point[:, 1], -k2 * point[:, 2]], axis=1)
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        candidates.append(Hit(t, np.divide(grad, norm, out=np.zeros_like(grad), where=norm > 0)))
    candidates.append(_disc(p, d, 0.0, radius, -1.0))
    return _finish(nearest(candidates)[0])


def _disc(p: FloatArray, d: FloatArray, z: float, radius: float, up: float) -> Hit:
    """Horizontal disc of ``radius`` at height ``z`` around the local origin, normal ``up`` * z."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - p[:, 2]) / d[:, 2]
        x, y = p[:, 0] + t * d[:, 0], p[:, 1] + t * d[:, 1]
        t = _valid(t, x * x + y * y <= radius * radius)
    normal = np.zeros_like(p)
    normal[:, 2] = up
    return Hit(t, normal)


def _finish(hit: Hit) -> Hit:
    hit.normal[~np.isfinite(hit.t)] = 0.0
    return hit


def rectangle(
    o: FloatArray,
    d: FloatArray,
    axis: int,
    position: float,
    lo: tuple[float, float],
    hi: tuple[float, float],
    normal_sign: float,
) -> Hit:
    """Axis-aligned rectangle ``x[axis] == position`` bounded by ``lo``/``hi`` on the other two
    axes (in increasing axis order); two-sided, with the fixed normal ``normal_sign`` * e_axis."""
    others = [a for a in range(3) if a != axis]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (position - o[:, axis]) / d[:, axis]
        inside = np.ones(len(t), dtype=bool)
        for other, low, high in zip(others, lo, hi):
            value = o[:, other] + t * d[:, other]
            inside &= (value >= low) & (value <= high)
        t = _valid(t, inside)
    normal = np.zeros_like(o)
    normal[:, axis] = normal_sign
    normal[~np.isfinite(t)] = 0.0
    return Hit(t, normal)


def intersect_object(obj: SceneObject, o: FloatArray, d: FloatArray) -> Hit:
    """Dispatch on the object's shape; all shapes stand on z = centre_z - height / 2."""
    cx, cy, cz = obj.centre
    base = np.array([cx, cy, cz - obj.height / 2])
    if obj.shape == "sphere":
        return sphere(o, d, np.array(obj.centre), obj.size)
    if obj.shape == "cube":
        return box(o, d, np.array(obj.centre), np.array([obj.size, obj.size, obj.height / 2]), obj.yaw)
    if obj.shape == "cylinder":
        return cylinder(o, d, base, obj.size, obj.height)
    if obj.shape == "cone":
        return cone(o, d, base, obj.size, obj.height)
    raise ValueError(f"unknown shape {obj.shape!r}")
