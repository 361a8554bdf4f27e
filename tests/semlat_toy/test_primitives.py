"""Ray-primitive intersections: distances, outward normals, misses, and the outlines the shapes project to."""

from __future__ import annotations

import numpy as np
import pytest

from semlat_toy import OBJECT_ID_START, SceneObject, look_at, ray_directions
from semlat_toy.primitives import Hit, intersect_object, nearest, rectangle, sphere


def rays(*pairs) -> tuple[np.ndarray, np.ndarray]:
    """Origins (N, 3) and unit directions (N, 3) from (origin, direction) pairs."""
    origins = np.array([origin for origin, _ in pairs], dtype=np.float64)
    directions = np.array([direction for _, direction in pairs], dtype=np.float64)
    return origins, directions / np.linalg.norm(directions, axis=1, keepdims=True)


def standing(shape: str, size: float = 0.5, height: float = 1.0, yaw: float = 0.0) -> SceneObject:
    return SceneObject(OBJECT_ID_START, shape, "red", (0.0, 0.0, height / 2), size, height, yaw)


def test_sphere_hits_misses_and_rays_starting_on_its_surface():
    o, d = rays(
        ((5, 0, 0), (-1, 0, 0)),  # head on
        ((5, 0, 0), (1, 0, 0)),  # away from it
        ((5, 0, 2), (-1, 0, 0)),  # passes above
        ((0, 0, 0), (0, 0, 1)),  # from the centre: the far side
        ((1, 0, 0), (1, 0, 0)),  # from the surface, outwards (a shadow ray): no hit
        ((1, 0, 0), (-1, 0, 0)),  # from the surface, inwards: the far side
    )
    hit = sphere(o, d, np.zeros(3), 1.0)
    np.testing.assert_allclose(hit.t, [4.0, np.inf, np.inf, 1.0, np.inf, 2.0])
    np.testing.assert_allclose(hit.normal, [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [-1, 0, 0]], atol=1e-12)


CONE_SIDE = np.array([1.0, 0.0, 0.5]) / np.linalg.norm([1.0, 0.0, 0.5])  # radius 0.5 over height 1


@pytest.mark.parametrize(
    "obj, origin, direction, t, normal",
    [
        (standing("sphere"), (5, 0, 0.5), (-1, 0, 0), 4.5, (1, 0, 0)),
        (standing("sphere"), (0, 0, 3), (0, 0, -1), 2.0, (0, 0, 1)),
        (standing("cube"), (5, 0, 0.5), (-1, 0, 0), 4.5, (1, 0, 0)),
        (standing("cube"), (0.2, 0.3, 3), (0, 0, -1), 2.0, (0, 0, 1)),
        # yawed by 45°, a corner points along +x: the face between the +x and +y corners
        (standing("cube", yaw=np.pi / 4), (5, 0.1, 0.5), (-1, 0, 0), 5 - (0.5 * np.sqrt(2) - 0.1), (1, 1, 0)),
        (standing("cylinder"), (5, 0, 0.5), (-1, 0, 0), 4.5, (1, 0, 0)),
        (standing("cylinder"), (0.2, 0.3, 3), (0, 0, -1), 2.0, (0, 0, 1)),
        (standing("cylinder"), (0.2, 0.3, -1), (0, 0, 1), 1.0, (0, 0, -1)),
        (standing("cone"), (5, 0, 0.5), (-1, 0, 0), 4.75, CONE_SIDE),
        (standing("cone"), (0.2, 0.3, -1), (0, 0, 1), 1.0, (0, 0, -1)),
    ],
)
def test_shapes_hit_at_the_right_distance_with_the_outward_normal(obj, origin, direction, t, normal):
    o, d = rays((origin, direction), (origin, np.negative(direction)))  # and the same ray turned away: a miss
    hit = intersect_object(obj, o, d)
    assert hit.t[0] == pytest.approx(t) and hit.t[1] == np.inf
    np.testing.assert_allclose(hit.normal[0], np.asarray(normal) / np.linalg.norm(normal), atol=1e-9)
    np.testing.assert_array_equal(hit.normal[1], 0.0)


def test_an_unknown_shape_is_refused():
    o, d = rays(((5, 0, 0), (-1, 0, 0)))
    with pytest.raises(ValueError, match="torus"):
        intersect_object(standing("torus"), o, d)


def hit_pixels(obj: SceneObject, camera) -> int:
    directions = ray_directions(camera).reshape(-1, 3)
    return int(np.isfinite(intersect_object(obj, np.broadcast_to(camera.centre, directions.shape), directions).t).sum())


def test_sphere_covers_its_analytic_projected_disc():
    radius, distance = 1.0, 5.0
    ball = SceneObject(OBJECT_ID_START, "sphere", "red", (0.0, 0.0, 0.0), radius, 2 * radius)
    camera = look_at((distance, 0.0, 0.0), (0.0, 0.0, 0.0), 256, 192)
    expected = np.pi * camera.fx**2 * radius**2 / (distance**2 - radius**2)
    assert hit_pixels(ball, camera) == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("shape", ["cube", "cylinder", "cone"])
def test_shapes_seen_from_straight_above_show_their_top_outline(shape):
    """From above the axis only the top face (cube, cylinder) or the base outline (cone) shows."""
    obj, distance = standing(shape, yaw=0.3), 4.0
    camera = look_at((0.0, 0.0, distance), (0.0, 0.0, 0.0), 256, 256)
    top = distance - (0.0 if shape == "cone" else obj.height)
    scale = camera.fx * obj.size / top
    expected = (2 * scale) ** 2 if shape == "cube" else np.pi * scale**2
    assert hit_pixels(obj, camera) == pytest.approx(expected, rel=0.03)


def test_rectangle_is_two_sided_and_bounded():
    o, d = rays(
        ((0.5, 0.5, 1), (0, 0, -1)),  # from above
        ((0.5, 0.5, -2), (0, 0, 1)),  # from below: same fixed normal
        ((2.0, 0.0, 1), (0, 0, -1)),  # outside its bounds
        ((0.0, 0.0, 1), (1, 0, 0)),  # parallel to it
    )
    hit = rectangle(o, d, axis=2, position=0.0, lo=(-1.0, -1.0), hi=(1.0, 1.0), normal_sign=1.0)
    np.testing.assert_allclose(hit.t, [1.0, 2.0, np.inf, np.inf])
    np.testing.assert_array_equal(hit.normal, [[0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 0]])


def test_nearest_keeps_the_closest_hit_per_ray_and_says_which():
    first = Hit(np.array([1.0, np.inf, 5.0]), np.array([[1.0, 0, 0], [0, 0, 0], [1.0, 0, 0]]))
    second = Hit(np.array([3.0, 2.0, 4.0]), np.array([[0, 1.0, 0], [0, 1.0, 0], [0, 1.0, 0]]))
    hit, winner = nearest([first, second])
    np.testing.assert_array_equal(hit.t, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(winner, [0, 1, 1])
    np.testing.assert_array_equal(hit.normal, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
