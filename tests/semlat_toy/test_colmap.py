"""COLMAP text models: the files COLMAP writes, read back to the same cameras; quaternions as COLMAP's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from semlat.errors import SemlatError
from semlat_toy import look_at, orbit_cameras, read_colmap_text, write_colmap_text
from semlat_toy.colmap import quaternion_to_rotation, rotation_to_quaternion

N_VIEWS = 4
NAMES = [f"view_{i:02d}.png" for i in range(N_VIEWS)]


def data_lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


@pytest.fixture
def orbit():
    return orbit_cameras(N_VIEWS, width=64, height=48)


def test_written_model_reads_back_to_the_same_cameras(tmp_path, orbit):
    write_colmap_text(tmp_path, orbit, NAMES)
    views = read_colmap_text(tmp_path)
    assert [name for name, _ in views] == NAMES
    for (_, parsed), camera in zip(views, orbit):
        intrinsics = ("width", "height", "fx", "fy", "cx", "cy")
        assert [getattr(parsed, k) for k in intrinsics] == [getattr(camera, k) for k in intrinsics]
        np.testing.assert_array_equal(parsed.t, camera.t)  # written in full
        np.testing.assert_allclose(parsed.R, camera.R, atol=1e-12)
        np.testing.assert_allclose(parsed.centre, camera.centre, atol=1e-9)


def test_files_have_colmaps_layout(tmp_path, orbit):
    write_colmap_text(tmp_path, orbit, NAMES)
    cameras = data_lines(tmp_path / "cameras.txt")
    focal = repr(float(orbit[0].fx))
    assert cameras == [f"1 PINHOLE 64 48 {focal} {focal} 32.0 24.0"]  # one camera, shared by every view
    images = data_lines(tmp_path / "images.txt")
    assert len(images) == 2 * N_VIEWS and all(line == "" for line in images[1::2])  # no 2D points
    for image_id, (line, name) in enumerate(zip(images[0::2], NAMES), start=1):
        fields = line.split()
        assert (fields[0], fields[8], fields[9]) == (str(image_id), "1", name)
        q = np.array(fields[1:5], dtype=float)
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-12) and q[0] >= 0
    assert data_lines(tmp_path / "points3D.txt") == []


def test_views_with_other_intrinsics_get_their_own_camera(tmp_path):
    cameras = [
        look_at((5, 0, 1), (0, 0, 0), 64, 48),
        look_at((0, 5, 1), (0, 0, 0), 32, 32),
        look_at((-5, 0, 1), (0, 0, 0), 64, 48),
    ]
    write_colmap_text(tmp_path, cameras, ["a.png", "b.png", "c.png"])
    assert [line.split()[:4] for line in data_lines(tmp_path / "cameras.txt")] == [
        ["1", "PINHOLE", "64", "48"],
        ["2", "PINHOLE", "32", "32"],
    ]
    assert [line.split()[8] for line in data_lines(tmp_path / "images.txt")[0::2]] == ["1", "2", "1"]
    assert [(parsed.width, parsed.height) for _, parsed in read_colmap_text(tmp_path)] == [(64, 48), (32, 32), (64, 48)]


def test_simple_pinhole_reads_with_one_focal_length(tmp_path, orbit):
    write_colmap_text(tmp_path, orbit[:1], NAMES[:1])
    (tmp_path / "cameras.txt").write_text("1 SIMPLE_PINHOLE 64 48 50.0 32.0 24.0\n")
    (_, camera), *_ = read_colmap_text(tmp_path)
    assert (camera.fx, camera.fy, camera.cx, camera.cy) == (50.0, 50.0, 32.0, 24.0)


def test_other_camera_models_and_missing_files_are_refused(tmp_path, orbit):
    with pytest.raises(SemlatError, match="no COLMAP text model"):
        read_colmap_text(tmp_path)
    write_colmap_text(tmp_path, orbit[:1], NAMES[:1])
    (tmp_path / "cameras.txt").write_text("1 OPENCV 64 48 50.0 50.0 32.0 24.0 0.1 0.0 0.0 0.0\n")
    with pytest.raises(SemlatError, match="OPENCV"):
        read_colmap_text(tmp_path)


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


def test_sfm_points_are_written_as_colmap_tracks_pycolmap_reads(tmp_path, orbit):
    import pycolmap

    from semlat_toy.sfm import SfmPoints

    xyz = np.array([[0.0, 0.0, 0.3], [0.2, -0.1, 0.5]])
    image = np.array([0, 1, 2, 0, 3])
    point = np.array([0, 0, 0, 1, 1])
    xy = np.array([[10.25, 20.5], [11.0, 21.0], [12.5, 22.0], [30.0, 5.0], [31.5, 6.25]])
    write_colmap_text(tmp_path, orbit, NAMES, SfmPoints(xyz, np.full((2, 3), 7, np.uint8), image, xy, point))
    model = pycolmap.Reconstruction(str(tmp_path))
    assert model.num_points3D() == 2
    tracks = {pid: sorted(e.image_id for e in p.track.elements) for pid, p in model.points3D.items()}
    assert tracks == {1: [1, 2, 3], 2: [1, 4]}
    first = model.images[1]
    seen = sorted((tuple(np.round(p.xy, 3)), p.point3D_id) for p in first.points2D if p.has_point3D())
    assert seen == [((10.25, 20.5), 1), ((30.0, 5.0), 2)]
    np.testing.assert_allclose(model.points3D[2].xyz, xyz[1])
    assert [name for name, _ in read_colmap_text(tmp_path)] == NAMES  # our reader skips the points
