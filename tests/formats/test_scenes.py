"""`read_scene`: bare images, COLMAP text and binary (with points and observations), images_N, nerfstudio, bad scenes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pycolmap
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.formats.scenes import read_scene
from semlat_toy.io import write_scene
from tests.scenes import POINTS_PER_IMAGE, add_points


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    return write_scene(tmp_path_factory.mktemp("toy"), seed=0, n_views=3, width=64, height=48)


@pytest.fixture(params=["text", "binary"])
def colmap_scene(request, toy, tmp_path) -> tuple[Path, pycolmap.Reconstruction]:
    root = tmp_path / "scene"
    shutil.copytree(toy / "images", root / "images")
    model = add_points(toy / "sparse" / "0", root / "sparse" / "0", binary=request.param == "binary")
    return root, model


def quaternion(image) -> tuple[float, ...]:
    x, y, z, w = image.cam_from_world().rotation.quat
    q = np.array([w, x, y, z])
    return tuple(-q if q[0] < 0 else q)


def test_a_colmap_scene_reads_cameras_and_tracks(colmap_scene) -> None:
    root, model = colmap_scene
    scene = read_scene(root)
    names = sorted(image.name for image in model.images.values())
    assert scene.kind == "colmap" and scene.model_dir == root / "sparse" / "0"
    assert [path.name for path in scene.image_paths] == names and scene.images_dir == root / "images"
    by_name = {image.name: image for image in model.images.values()}
    for pose in scene.cameras:
        image = by_name[pose.file_name]
        camera = model.cameras[image.camera_id]
        assert (pose.model, pose.width, pose.height) == ("PINHOLE", 64, 48)
        np.testing.assert_allclose(pose.params, camera.params)
        np.testing.assert_allclose(pose.qvec, quaternion(image), atol=1e-12)
        np.testing.assert_allclose(pose.tvec, image.cam_from_world().translation)
        obs = scene.tracks[pose.file_name]
        expected = [(p.xy, p.point3D_id) for p in image.points2D if p.has_point3D()]
        assert len(expected) == POINTS_PER_IMAGE  # the two extra 2D points observe nothing and are left out
        np.testing.assert_allclose(obs.xy, np.array([xy for xy, _ in expected]), rtol=1e-6)
        assert obs.xy.dtype == np.float32 and obs.point3d_id.dtype == np.int64
        assert obs.point3d_id.tolist() == [pid for _, pid in expected]
    assert scene.tracks.observations() == POINTS_PER_IMAGE * len(names)


def test_text_and_binary_models_read_the_same(toy, tmp_path) -> None:
    scenes = []
    for kind in ("text", "binary"):
        root = tmp_path / kind
        shutil.copytree(toy / "images", root / "images")
        add_points(toy / "sparse" / "0", root / "sparse" / "0", binary=kind == "binary")
        scenes.append(read_scene(root))
    assert scenes[0].cameras == scenes[1].cameras
    for name in scenes[0].tracks:
        np.testing.assert_array_equal(scenes[0].tracks[name].xy, scenes[1].tracks[name].xy)


def test_images_n_scales_intrinsics_and_observations(colmap_scene) -> None:
    root, _ = colmap_scene
    full = read_scene(root)
    (root / "images_4").mkdir()
    for path in full.image_paths:
        Image.open(path).resize((16, 12)).save(root / "images_4" / path.name)
    small = read_scene(root, images_subdir="images_4")
    assert small.images_dir == root / "images_4" and all(p.parent == root / "images_4" for p in small.image_paths)
    for big, little in zip(full.cameras, small.cameras):
        assert (little.width, little.height) == (16, 12)
        np.testing.assert_allclose(little.params, np.array(big.params) / 4)
        assert (little.qvec, little.tvec) == (big.qvec, big.tvec)
        np.testing.assert_allclose(small.tracks[little.file_name].xy, full.tracks[big.file_name].xy / 4, rtol=1e-6)


def test_an_explicit_model_folder(colmap_scene, tmp_path) -> None:
    root, _ = colmap_scene
    moved = tmp_path / "elsewhere"
    shutil.move(root / "sparse" / "0", moved)
    scene = read_scene(root / "images", colmap=moved)
    assert scene.kind == "colmap" and scene.model_dir == moved and scene.images_dir == root / "images"
    assert len(scene.cameras) == 3


def test_the_toy_model_and_its_sfm_points(toy) -> None:
    scene = read_scene(toy)
    assert scene.kind == "colmap" and len(scene.cameras) == 3
    assert all(len(obs.point3d_id) > 0 for obs in scene.tracks.values())  # the toy's SfM points (semlat_toy.sfm)
    shared = set.intersection(*(set(obs.point3d_id.tolist()) for obs in scene.tracks.values()))
    assert shared  # some points are seen by all three views


def test_a_bare_images_folder(toy) -> None:
    scene = read_scene(toy / "images")
    assert scene.kind == "images" and scene.cameras is None and scene.tracks is None
    assert [p.name for p in scene.image_paths] == ["view_00.png", "view_01.png", "view_02.png"]


def nerfstudio(toy: Path, root: Path, colmap: list) -> dict:
    """A transforms.json for the toy views, camera-to-world in OpenGL axes as ns-process-data writes it."""
    shutil.copytree(toy / "images", root / "images")
    frames = []
    for pose in colmap:
        w, x, y, z = pose.qvec
        rotation = pycolmap.Rotation3d(np.array([x, y, z, w])).matrix()
        w2c = np.eye(4)
        w2c[:3, :3], w2c[:3, 3] = rotation, pose.tvec
        c2w = np.linalg.inv(w2c)
        c2w[:3, 1:3] *= -1
        frames.append({"file_path": f"images/{pose.file_name}", "transform_matrix": c2w.tolist()})
    fx, fy, cx, cy = colmap[0].params
    meta = {"camera_model": "OPENCV", "fl_x": fx, "fl_y": fy, "cx": cx, "cy": cy, "w": 64, "h": 48, "k1": 0.0, "frames": frames}
    (root / "transforms.json").write_text(json.dumps(meta))
    return meta


def test_a_nerfstudio_scene_gives_colmap_poses(toy, tmp_path) -> None:
    colmap = read_scene(toy).cameras
    root = tmp_path / "ns"
    meta = nerfstudio(toy, root, list(reversed(colmap)))
    scene = read_scene(root)
    assert scene.kind == "nerfstudio" and scene.tracks is None
    assert [p.name for p in scene.image_paths] == [pose.file_name for pose in colmap]  # name order, not frame order
    for got, want in zip(scene.cameras, colmap):
        assert got.model == "PINHOLE" and (got.width, got.height) == (64, 48)  # OPENCV without distortion
        np.testing.assert_allclose(got.qvec, want.qvec, atol=1e-9)
        np.testing.assert_allclose(got.tvec, want.tvec, atol=1e-9)
        np.testing.assert_allclose(got.params, want.params)

    (root / "images_2").mkdir()
    for path in scene.image_paths:
        Image.open(path).resize((32, 24)).save(root / "images_2" / path.name)
    meta["k1"] = 0.1
    (root / "transforms.json").write_text(json.dumps(meta))
    small = read_scene(root, images_subdir="images_2")
    assert small.image_paths[0].parent == root / "images_2"
    assert small.cameras[0].model == "OPENCV" and (small.cameras[0].width, small.cameras[0].height) == (32, 24)
    np.testing.assert_allclose(small.cameras[0].params, [*(np.array(colmap[0].params) / 2), 0.1, 0.0, 0.0, 0.0])


def bad_names(root: Path) -> None:
    for path in (root / "images").iterdir():
        path.rename(path.with_name("other_" + path.name))


def truncate_binary(root: Path) -> None:
    shutil.rmtree(root / "sparse" / "0")
    model = pycolmap.Reconstruction(str(root.parent / "source"))
    (root / "sparse" / "0").mkdir(parents=True)
    model.write_binary(str(root / "sparse" / "0"))
    data = (root / "sparse" / "0" / "images.bin").read_bytes()
    (root / "sparse" / "0" / "images.bin").write_bytes(data[: len(data) // 2])


def no_frames(root: Path) -> None:
    (root / "transforms.json").write_text(json.dumps({"fl_x": 1, "frames": []}))


def no_model(root: Path) -> None:
    (root / "sparse" / "0" / "images.txt").unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (bad_names, "no image named in the COLMAP model"),
        (truncate_binary, "cannot be read .* truncated or damaged"),
        (no_frames, "has no frames"),
        (no_model, "holds no COLMAP model"),
    ],
    ids=["names-match-no-file", "truncated-binary", "transforms-without-frames", "model-files-missing"],
)
def test_bad_scenes_are_one_line(toy, tmp_path, damage, message) -> None:
    shutil.copytree(toy / "sparse" / "0", tmp_path / "source")
    root = tmp_path / "scene"
    shutil.copytree(toy, root)
    damage(root)
    with pytest.raises(SemlatError, match=message) as info:
        read_scene(root)
    assert "\n" not in str(info.value)


def test_a_missing_subfolder_or_scene(toy) -> None:
    with pytest.raises(SemlatError, match="no images_8/ folder"):
        read_scene(toy, images_subdir="images_8")
    with pytest.raises(SemlatError, match="does not exist"):
        read_scene(toy / "nope")
