"""Scene directories: the documented layout, deterministic bytes, ground truth and cameras read back exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat_toy import (
    look_at,
    make_scene,
    orbit_cameras,
    read_colmap_text,
    read_ground_truth,
    render_scene,
    render_view,
    write_scene,
    write_views,
)
from tests.conftest import snapshot

N_VIEWS, WIDTH, HEIGHT = 4, 64, 48
NAMES = [f"view_{i:02d}.png" for i in range(N_VIEWS)]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("toy") / "scene", 7, N_VIEWS, WIDTH, HEIGHT)


def test_layout(scene_dir):
    views = render_scene(make_scene(7), N_VIEWS, WIDTH, HEIGHT)
    assert sorted(p.name for p in (scene_dir / "images").iterdir()) == NAMES
    for name, view in zip(NAMES, views):
        stem = name.removesuffix(".png")
        np.testing.assert_array_equal(np.asarray(Image.open(scene_dir / "images" / name)), view.image)
        instance = Image.open(scene_dir / "gt" / f"{stem}_instance.png")
        assert instance.mode.startswith("I;16")  # uint16 ids
        np.testing.assert_array_equal(np.load(scene_dir / "gt" / f"{stem}_depth.npy"), view.depth)
    assert sorted(p.name for p in (scene_dir / "sparse" / "0").iterdir()) == ["cameras.txt", "images.txt", "points3D.txt"]


def test_same_seed_same_bytes_other_seed_other_bytes(scene_dir, tmp_path):
    assert snapshot(write_scene(tmp_path / "again", 7, N_VIEWS, WIDTH, HEIGHT)) == snapshot(scene_dir)
    other = snapshot(write_scene(tmp_path / "other", 8, N_VIEWS, WIDTH, HEIGHT))
    assert other["images/view_00.png"] != snapshot(scene_dir)["images/view_00.png"]


def test_ground_truth_reads_back(scene_dir):
    scene = make_scene(7)
    truth = read_ground_truth(scene_dir)
    assert truth.names == NAMES
    assert truth.classes == scene.class_names()
    for camera, instance in zip(orbit_cameras(N_VIEWS, width=WIDTH, height=HEIGHT), truth.instances):
        assert instance.dtype == np.int32
        np.testing.assert_array_equal(instance, render_view(scene, camera).instance)
    meta = json.loads((scene_dir / "gt" / "classes.json").read_text())
    assert (meta["seed"], meta["up_axis"], meta["views"]) == (7, "z", NAMES)
    for obj in scene.objects:
        entry = meta["objects"][str(obj.instance_id)]
        assert (entry["shape"], entry["colour"], entry["class_name"]) == (obj.shape, obj.colour, obj.class_name)


def test_cameras_of_the_scene_are_its_views(scene_dir):
    views = read_colmap_text(scene_dir / "sparse" / "0")
    assert [name for name, _ in views] == NAMES
    for (_, parsed), camera in zip(views, orbit_cameras(N_VIEWS, width=WIDTH, height=HEIGHT)):
        np.testing.assert_allclose(parsed.centre, camera.centre, atol=1e-9)


def test_views_from_any_cameras_are_written(tmp_path):
    scene = make_scene(2)
    cameras = [look_at((4.0, 1.0, 2.0), (0.0, 0.0, 0.3), 40, 30), look_at((-3.0, -3.0, 1.0), (0.0, 0.0, 0.3), 24, 24)]
    root = write_views(tmp_path / "scene", scene, [render_view(scene, camera) for camera in cameras])
    truth = read_ground_truth(root)
    assert [instance.shape for instance in truth.instances] == [(30, 40), (24, 24)]
    assert [(c.width, c.height) for _, c in read_colmap_text(root / "sparse" / "0")] == [(40, 30), (24, 24)]


def test_a_folder_without_ground_truth_is_refused(tmp_path):
    with pytest.raises(SemlatError, match="gt/classes.json"):
        read_ground_truth(tmp_path)
