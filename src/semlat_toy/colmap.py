"""The toy views' cameras as a COLMAP text model, and a reader for such models.

`write_colmap_text` writes the three files of a COLMAP text model, as a photo capture
reconstructed by COLMAP has them under ``sparse/0``:

- ``cameras.txt``: one PINHOLE camera (fx fy cx cy) per distinct set of intrinsics, ids from 1 in
  order of first use (the default orbit shares one);
- ``images.txt``: per view ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME``, the world -> camera
  pose as a unit quaternion with qw >= 0 and a translation, followed by its 2D points
  ``X Y POINT3D_ID`` (empty without points);
- ``points3D.txt``: ``POINT3D_ID X Y Z R G B ERROR TRACK[] (IMAGE_ID POINT2D_IDX)`` per 3D point
  (`semlat_toy.sfm.SfmPoints`; the header only without points).

Numbers are written in full (``repr``), so intrinsics and translations read back exactly.
`read_colmap_text` reads PINHOLE and SIMPLE_PINHOLE models back into `Camera` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat_toy.camera import Camera, FloatArray
from semlat_toy.sfm import SfmPoints


def rotation_to_quaternion(R: npt.ArrayLike) -> FloatArray:
    """Unit quaternion (qw, qx, qy, qz) with qw >= 0 for a rotation matrix (Hamilton convention,
    as COLMAP). Picks the largest diagonal term to stay accurate near 180-degree turns."""
    m = np.asarray(R, dtype=np.float64)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = np.array([0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s])
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = np.empty(4)
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    q /= np.linalg.norm(q)
    return -q if q[0] < 0 else q


def quaternion_to_rotation(q: npt.ArrayLike) -> FloatArray:
    """Rotation matrix of a quaternion (qw, qx, qy, qz) (normalised first), the inverse of `rotation_to_quaternion`."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def write_colmap_text(sparse_dir: Path, cameras: Sequence[Camera], names: Sequence[str], points: SfmPoints | None = None) -> None:
    """Write cameras.txt, images.txt and points3D.txt (empty without ``points``) into ``sparse_dir``."""
    sparse_dir.mkdir(parents=True, exist_ok=True)
    intrinsics: dict[tuple[int, int, float, float, float, float], int] = {}
    camera_ids = []
    for camera in cameras:
        key = (camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy)
        camera_ids.append(intrinsics.setdefault(key, len(intrinsics) + 1))
    lines = [
        "# Camera list with one line of data per camera:",
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
        f"# Number of cameras: {len(intrinsics)}",
    ]
    for (w, h, fx, fy, cx, cy), cid in intrinsics.items():
        lines.append(f"{cid} PINHOLE {w} {h} {_f(fx)} {_f(fy)} {_f(cx)} {_f(cy)}")
    (sparse_dir / "cameras.txt").write_text("\n".join(lines) + "\n")

    n_obs = 0 if points is None else len(points.point)
    lines = [
        "# Image list with two lines of data per image:",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)",
        f"# Number of images: {len(cameras)}, mean observations per image: {n_obs / max(len(cameras), 1):g}",
    ]
    tracks: list[list[str]] = [] if points is None else [[] for _ in range(len(points.xyz))]
    for index, (camera, camera_id, name) in enumerate(zip(cameras, camera_ids, names)):
        pose = " ".join(_f(v) for v in (*rotation_to_quaternion(camera.R), *camera.t))
        observed = []
        if points is not None:
            mine = np.flatnonzero(points.image == index)
            for slot, row in enumerate(mine):
                x, y = points.xy[row]
                observed.append(f"{x:.3f} {y:.3f} {int(points.point[row]) + 1}")
                tracks[int(points.point[row])].append(f"{index + 1} {slot}")
        lines += [f"{index + 1} {pose} {camera_id} {name}", " ".join(observed)]
    (sparse_dir / "images.txt").write_text("\n".join(lines) + "\n")

    lines = [
        "# 3D point list with one line of data per point:",
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)",
        f"# Number of points: {len(tracks)}, mean track length: {n_obs / max(len(tracks), 1):g}",
    ]
    for index, track in enumerate(tracks):
        x, y, z = points.xyz[index]
        r, g, b = (int(c) for c in points.rgb[index])
        lines.append(f"{index + 1} {x:.6f} {y:.6f} {z:.6f} {r} {g} {b} 0.5 {' '.join(track)}")
    (sparse_dir / "points3D.txt").write_text("\n".join(lines) + "\n")


def read_colmap_text(sparse_dir: Path) -> list[tuple[str, Camera]]:
    """(image name, camera) per image, in images.txt order. Reads PINHOLE / SIMPLE_PINHOLE only."""
    try:
        camera_lines = _data_lines(sparse_dir / "cameras.txt")
        image_lines = (sparse_dir / "images.txt").read_text().splitlines()
    except FileNotFoundError as exc:
        raise SemlatError(f"no COLMAP text model in {sparse_dir}: expected cameras.txt and images.txt") from exc
    intrinsics = {}
    for line in camera_lines:
        cid, model, width, height, *params = line.split()
        if model == "SIMPLE_PINHOLE":
            params = [params[0], params[0], params[1], params[2]]
        elif model != "PINHOLE":
            raise SemlatError(f"camera model {model} in {sparse_dir / 'cameras.txt'} is not supported: use PINHOLE")
        intrinsics[int(cid)] = (int(width), int(height), *map(float, params[:4]))
    views = []
    body = [line for line in image_lines if not line.startswith("#")]
    for line in body[0::2]:  # every image line is followed by its 2D points line
        fields = line.split()
        if not fields:
            continue
        q, t = np.array(fields[1:5], dtype=float), np.array(fields[5:8], dtype=float)
        width, height, fx, fy, cx, cy = intrinsics[int(fields[8])]
        views.append((fields[9], Camera(width, height, fx, fy, cx, cy, quaternion_to_rotation(q), t)))
    return views


def _data_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _f(value: float) -> str:
    return repr(float(value))
