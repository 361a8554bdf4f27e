"""Scene directories: deterministic bytes, ground truth and COLMAP model read back exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from semlat_toy import (
    make_scene,
    orbit_cameras,
    read_colmap_text,
    read_ground_truth,
    render_view,
    write_scene,
)
from semlat_toy.colmap import quaternion_to_rotation, rotation_to_quaternion

N_VIEWS, WIDTH, HEIGHT = 4, 64, 48


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("toy") / "scene", 7, N_VIEWS, WIDTH, HEIGHT)


def test_layout(scene_dir):
    names = [f"view_{i:02d}.png" for i in range(N_VIEWS)]
    assert sorted(p.name for p in (scene_dir / "images").iterdir()) == names
    for name in names:
        assert (scene_dir / "gt" / name.replace(".png", "_instance.png")).is_file()
        assert np.load(scene_dir / "gt" / name.replace(".png", "_depth.npy")).shape == (HEIGHT, WIDTH)
    for file in ("cameras.txt", "images.txt", "points3D.txt"):
        assert (scene_dir / "sparse" / "0" / file).is_file()


def test_same_seed_same_bytes_other_seed_other_bytes(scene_dir, tmp_path):
    assert _snapshot(write_scene(tmp_path / "again", 7, N_VIEWS, WIDTH, HEIGHT)) == _snapshot(scene_dir)
    other = _snapshot(write_scene(tmp_path / "other", 8, N_VIEWS, WIDTH, HEIGHT))
    assert other["images/view_00.png"] != _snapshot(scene_dir)["images/view_00.png"]


def test_ground_truth_reads_back(scene_dir):
    scene = make_scene(7)
    truth = read_ground_truth(scene_dir)
    assert truth.names == [f"view_{i:02d}.png" for i in range(N_VIEWS)]
    assert truth.classes == scene.class_names()
    for camera, instance in zip(orbit_cameras(N_VIEWS, width=WIDTH, height=HEIGHT), truth.instances):
        assert instance.dtype == np.int32
        np.testing.assert_array_equal(instance, render_view(scene, camera).instance)
    meta = json.loads((scene_dir / "gt" / "classes.json").read_text())
    for obj in scene.objects:
        entry = meta["objects"][str(obj.instance_id)]
        assert (entry["shape"], entry["colour"], entry["class_name"]) == (obj.shape, obj.colour, obj.class_name)


def test_colmap_model_parses_back_to_the_orbit(scene_dir):
    sparse = scene_dir / "sparse" / "0"
    views = read_colmap_text(sparse)
    cameras = orbit_cameras(N_VIEWS, width=WIDTH, height=HEIGHT)
    assert [name for name, _ in views] == [f"view_{i:02d}.png" for i in range(N_VIEWS)]
    for (_, parsed), camera in zip(views, cameras):
        np.testing.assert_allclose(parsed.centre, camera.centre, atol=1e-9)
        np.testing.assert_allclose(parsed.R, camera.R, atol=1e-9)
        assert (parsed.width, parsed.height, parsed.fx, parsed.fy, parsed.cx, parsed.cy) == (
            camera.width,
            camera.height,
            camera.fx,
            camera.fy,
            camera.cx,
            camera.cy,
        )
    image_lines = [line for line in (sparse / "images.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(image_lines) == 2 * N_VIEWS and all(line == "" for line in image_lines[1::2])
    for line in image_lines[0::2]:
        q = np.array(line.split()[1:5], dtype=float)
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-12)
    camera_lines = [line for line in (sparse / "cameras.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(camera_lines) == 1 and camera_lines[0].split()[1] == "PINHOLE"  # shared intrinsics
    points = (sparse / "points3D.txt").read_text().splitlines()
    assert points and all(line.startswith("#") for line in points)


@pytest.mark.parametrize("seed", range(6))
def test_quaternions_match_scipy_and_round_trip(seed):
    rotation = Rotation.random(random_state=seed)
    if seed == 0:
        rotation = Rotation.from_rotvec([np.pi, 0.0, 0.0])  # half turn: trace = -1
    q = rotation_to_quaternion(rotation.as_matrix())
    x, y, z, w = rotation.as_quat()
    expected = np.array([w, x, y, z]) * (1 if w >= 0 else -1)
    assert q[0] >= 0
    np.testing.assert_allclose(np.abs(q @ expected), 1.0, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_rotation(q), rotation.as_matrix(), atol=1e-12)
