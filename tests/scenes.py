"""COLMAP models written with pycolmap for the tests: cameras, poses, 2D points and 3D points with tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap

POINTS_PER_IMAGE = 5
"""3D points every image observes; each image also has two 2D points that observe nothing."""


def write_model(
    out_dir: Path, camera: pycolmap.Camera, views: list[tuple[str, pycolmap.Rigid3d]], *, binary: bool, seed: int = 0
) -> pycolmap.Reconstruction:
    """A classic three-file COLMAP model (text or binary) of ``views`` (name, cam_from_world) with points.

    Image ids are 1.. in ``views`` order; 3D point ``i`` is seen by every image as its 2D point ``i``.
    """
    rng = np.random.default_rng(seed)
    model = pycolmap.Reconstruction()
    model.add_camera_with_trivial_rig(camera)
    for image_id, (name, pose) in enumerate(views, start=1):
        xy = rng.uniform([0, 0], [camera.width, camera.height], size=(POINTS_PER_IMAGE + 2, 2))
        points = pycolmap.Point2DList([pycolmap.Point2D(p) for p in xy])
        image = pycolmap.Image(name=name, points2D=points, camera_id=camera.camera_id, image_id=image_id)
        model.add_image_with_trivial_frame(image, pose)
    for index in range(POINTS_PER_IMAGE):
        track = pycolmap.Track()
        for image_id in range(1, len(views) + 1):
            track.add_element(image_id, index)
        model.add_point3D(rng.normal(size=3), track, np.array([200, 100, 50], np.uint8))
    out_dir.mkdir(parents=True, exist_ok=True)
    (model.write_binary if binary else model.write_text)(str(out_dir))
    for extra in ("rigs", "frames"):  # pycolmap 4 adds these; COLMAP 3.x models have three files
        (out_dir / f"{extra}.{'bin' if binary else 'txt'}").unlink()
    return model


def add_points(model_dir: Path, out_dir: Path, *, binary: bool, seed: int = 0) -> pycolmap.Reconstruction:
    """The model at ``model_dir`` (e.g. the toy's) rewritten at ``out_dir`` with these points and observations instead of its own."""
    source = pycolmap.Reconstruction(str(model_dir))
    (camera,) = source.cameras.values()
    views = [(image.name, image.cam_from_world()) for _, image in sorted(source.images.items())]
    return write_model(out_dir, camera, views, binary=binary, seed=seed)


def colmap_scene(images_dir: Path, root: Path, *, binary: bool = False) -> pycolmap.Reconstruction:
    """``root/images`` (a copy of ``images_dir``'s photos, all of one size) beside a ``root/sparse/0`` model of them."""
    from PIL import Image

    (root / "images").mkdir(parents=True, exist_ok=True)
    names = sorted(path.name for path in images_dir.iterdir())
    for name in names:
        (root / "images" / name).write_bytes((images_dir / name).read_bytes())
    width, height = Image.open(images_dir / names[0]).size
    camera = pycolmap.Camera(
        model="PINHOLE", width=width, height=height, params=[width, width, width / 2, height / 2], camera_id=1
    )
    views = [
        (name, pycolmap.Rigid3d(pycolmap.Rotation3d(np.array([0.0, np.sin(i / 4), 0.0, np.cos(i / 4)])), np.array([i, 0.0, 4.0])))
        for i, name in enumerate(names)
    ]
    return write_model(root / "sparse" / "0", camera, views, binary=binary)
