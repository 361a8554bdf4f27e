"""Rendering: ground truth agrees with the pixels, depth and shading are right, occlusion happens."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from semlat_toy import (
    COLOURS,
    FLOOR_ID,
    OBJECT_ID_START,
    SKY_ID,
    WALL_IDS,
    SceneObject,
    look_at,
    make_scene,
    orbit_cameras,
    render_scene,
    render_view,
)

WIDTH, HEIGHT = 128, 96  # half the default size keeps the tests quick


@pytest.fixture(scope="module")
def scene():
    return make_scene(0)


@pytest.fixture(scope="module")
def views(scene):
    return render_scene(scene, width=WIDTH, height=HEIGHT)


def test_views_have_the_documented_types(views):
    assert len(views) == 12
    for view in views:
        assert view.image.shape == (HEIGHT, WIDTH, 3) and view.image.dtype == np.uint8
        assert view.instance.shape == (HEIGHT, WIDTH) and view.instance.dtype == np.int32
        assert view.depth.shape == (HEIGHT, WIDTH) and view.depth.dtype == np.float32


def test_rendering_is_deterministic(scene, views):
    again = render_view(make_scene(0), views[5].camera)
    assert again.image.tobytes() == views[5].image.tobytes()
    assert again.instance.tobytes() == views[5].instance.tobytes()
    other = render_view(make_scene(1), views[5].camera)
    assert other.image.tobytes() != views[5].image.tobytes()


def test_room_encloses_the_orbit_and_every_object_is_seen(scene, views):
    seen = set()
    for view in views:
        assert not (view.instance == SKY_ID).any()
        seen |= set(np.unique(view.instance).tolist())
    assert {o.instance_id for o in scene.objects} <= seen
    assert FLOOR_ID in seen and seen & set(WALL_IDS)


def test_object_pixels_have_the_object_hue(scene, views):
    """Shading only scales the albedo, so every object pixel points along its colour and is
    nearer its own colour than any other."""
    names = list(COLOURS)
    table = np.array([COLOURS[name] for name in names])
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    checked = 0
    for view in views:
        pixels = view.image.reshape(-1, 3).astype(np.float64)
        ids = view.instance.reshape(-1)
        for obj in scene.objects:
            rgb = pixels[ids == obj.instance_id]
            if len(rgb) < 20:
                continue
            rgb /= np.linalg.norm(rgb, axis=1, keepdims=True)
            assert rgb.mean(axis=0) @ table[names.index(obj.colour)] / np.linalg.norm(rgb.mean(axis=0)) > 0.99
            nearest = np.argmax(rgb @ table.T, axis=1)
            assert (nearest == names.index(obj.colour)).mean() > 0.98
            checked += 1
    assert checked >= 3 * len(scene.objects)


def test_floor_and_walls_are_neutral(views):
    for view in views:
        room = np.isin(view.instance, (FLOOR_ID, *WALL_IDS))
        spread = np.ptp(view.image[room].astype(int), axis=1)
        assert spread.max() <= 1


def test_depth_backprojects_floor_pixels_onto_the_floor(views):
    """Depth is z along the optical axis at pixel centres, cameras are world -> camera."""
    for view in views[:3]:
        camera = view.camera
        rows, cols = np.nonzero(view.instance == FLOOR_ID)
        z = view.depth[rows, cols].astype(np.float64)
        cam = np.stack([(cols + 0.5 - camera.cx) / camera.fx * z, (rows + 0.5 - camera.cy) / camera.fy * z, z], axis=1)
        world = (cam - camera.t) @ camera.R
        assert np.abs(world[:, 2]).max() < 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_objects_hide_each_other_in_default_scenes(seed):
    """Pixels an object shows in the scene are a subset of what it shows alone; in some view
    another object hides a clear part of it."""
    scene = make_scene(seed)
    worst = 0.0
    for camera in orbit_cameras(width=48, height=36):
        view = render_view(scene, camera)
        for obj in scene.objects:
            visible = view.instance == obj.instance_id
            alone = render_view(scene.with_objects([obj]), camera).instance == obj.instance_id
            assert not (visible & ~alone).any()
            if visible.any():
                worst = max(worst, 1.0 - visible.sum() / alone.sum())
    assert worst > 0.3


@pytest.mark.parametrize("shape, height", [("cube", 1.0), ("cylinder", 1.0), ("sphere", 1.0)])
def test_depth_of_a_flat_or_round_top_seen_from_above(shape, height):
    """z-depth at the centre pixel from straight above is the distance to the object's top."""
    obj = SceneObject(OBJECT_ID_START, shape, "red", (0.0, 0.0, height / 2), 0.5, height, 0.3)
    scene = replace(make_scene(0), objects=(obj,), room=None)
    view = render_view(scene, look_at((0.0, 0.0, 4.0), (0.0, 0.0, 0.0), 256, 256))
    assert view.instance[128, 128] == obj.instance_id
    assert view.depth[128, 128] == pytest.approx(4.0 - height, abs=1e-4)


def test_lambertian_shading_is_brightest_towards_the_light():
    sphere = SceneObject(OBJECT_ID_START, "sphere", "red", (0.0, 0.0, 0.0), 1.0, 2.0)
    scene = replace(make_scene(0), objects=(sphere,), room=None, light_dir=(0.0, 0.0, 1.0))
    view = render_view(scene, look_at((5.0, 0.0, 0.0), (0.0, 0.0, 0.0), 128, 128))
    red = np.where(view.instance == sphere.instance_id, view.image[..., 0].astype(int), -1)
    rows = np.nonzero(red.max(axis=1) >= 0)[0]
    brightest = np.unravel_index(np.argmax(red), red.shape)
    assert brightest[0] == rows.min()  # the top of the sphere faces the light
    assert red[rows.max(), 64] == round(scene.ambient * COLOURS["red"][0] * 255)


def test_any_camera_and_single_objects_render(scene):
    camera = orbit_cameras(1, width=40, height=30)[0]
    empty = render_view(scene.with_objects([]), camera)
    assert set(np.unique(empty.instance).tolist()) <= {FLOOR_ID, *WALL_IDS}
    bare = render_view(replace(scene, room=None, objects=()), camera)
    assert (bare.instance == SKY_ID).all() and (bare.depth == 0).all()


def test_textured_scenes_vary_within_a_surface_and_agree_across_views():
    from semlat_toy.render import value_noise

    scene = make_scene(0)
    flat, textured = (render_view(s, look_at((4, 1, 2), (0, 0, 0.3), 64, 48)) for s in (scene, replace(scene, textured=True)))
    np.testing.assert_array_equal(flat.instance, textured.instance)
    walls = np.isin(flat.instance, WALL_IDS)
    assert walls.sum() > 100 and textured.image[walls].std() > 3 * flat.image[walls].std()
    points = np.random.default_rng(0).uniform(-2, 2, (500, 3))
    noise = value_noise(points, 0.1, 0)
    assert 0 <= noise.min() and noise.max() <= 1 and noise.std() > 0.1
    np.testing.assert_array_equal(noise, value_noise(points.copy(), 0.1, 0))  # a function of the 3D point only
