"""One reader for the scene folders users bring: a bare images folder, a COLMAP scene, a nerfstudio scene.

- **images**: a folder of photos (no cameras).
- **COLMAP**: ``images/`` (or a downscale ``images_N/``, ``--images-subdir``) beside ``sparse/0/``
  holding cameras, images and points3D in text or binary, read with pycolmap. The images to
  register are the model's, in name order; their intrinsics and 2D observations are scaled to the
  image files (a downscale folder's images are smaller than the model's cameras).
- **nerfstudio**: ``transforms.json`` with frames' ``file_path`` (camera-to-world matrices in
  OpenGL axes, intrinsics at the top or per frame), optionally downscales ``images_2/4/8``.
  Poses are turned into COLMAP's world -> camera convention in nerfstudio's world frame; there are
  no tracks.

Everything is checked before anything is returned, so a bad scene is one `SemlatError` and the
workspace is never touched. Python API: `read_scene` -> `Scene`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.imageio import image_size, list_images
from semlat.workspace.scene import CameraPose, Observations, SceneTracks

IMAGES_DIR = "images"
MODEL_DIR = Path("sparse") / "0"
TRANSFORMS_FILE = "transforms.json"
SIZE_TOLERANCE = 1.5
"""Pixels an image file may differ from the camera's size times the folder's scale (rounded downscales)."""


@dataclass(frozen=True)
class Scene:
    """A scene folder, read and checked.

    Args:
        root: the folder given.
        images_dir: the folder the registered images are in.
        image_paths: the images to register, in a stable order.
        kind: "images", "colmap" or "nerfstudio".
        cameras: one pose per image (None for a bare images folder).
        tracks: the SfM observations per image file name (COLMAP only).
        model_dir: the COLMAP model folder that was read (None otherwise).
    """

    root: Path
    images_dir: Path
    image_paths: list[Path]
    kind: str
    cameras: list[CameraPose] | None = None
    tracks: SceneTracks | None = None
    model_dir: Path | None = None


def read_scene(path: Path, *, images_subdir: str | None = None, colmap: Path | None = None) -> Scene:
    """Read the scene folder ``path`` (any of the three kinds, told apart by what it holds).

    Args:
        path: a scene folder or a folder of photos.
        images_subdir: the images folder inside the scene, e.g. ``images_4`` for a downscale
            (default ``images``); the intrinsics and observations are scaled to its files.
        colmap: a COLMAP model folder to use instead of ``path/sparse/0`` (its images are then
            looked for in ``path/images_subdir``, or in ``path`` itself when that holds photos).

    Raises:
        SemlatError: a missing folder, an unreadable model, names matching no file, ... in one line.
    """
    path = Path(path)
    if not path.is_dir():
        raise SemlatError(f"scene folder {path} does not exist: pass a folder of photos or a COLMAP / nerfstudio scene")
    if colmap is not None:
        return _colmap_scene(path, Path(colmap), _images_dir(path, images_subdir, beside_model=True))
    if (path / TRANSFORMS_FILE).is_file():
        return _nerfstudio_scene(path, images_subdir)
    if (path / MODEL_DIR).is_dir():
        return _colmap_scene(path, path / MODEL_DIR, _images_dir(path, images_subdir))
    folder = path / images_subdir if images_subdir else path
    return Scene(path, folder, list_images(folder), "images")


def _images_dir(root: Path, subdir: str | None, beside_model: bool = False) -> Path:
    folder = root / (subdir or IMAGES_DIR)
    if folder.is_dir():
        return folder
    if beside_model and subdir is None:
        return root
    raise SemlatError(f"scene {root} has no {folder.name}/ folder: pass --images-subdir with the folder its photos are in")


# -- COLMAP ----------------------------------------------------------------------------------
def _read_model(model_dir: Path) -> Any:
    """The pycolmap reconstruction at ``model_dir`` (text or binary), one error for every way it can fail."""
    import pycolmap

    if not model_dir.is_dir():
        raise SemlatError(f"COLMAP model folder {model_dir} does not exist: pass the sparse/0 folder of the scene")
    for ext in (".bin", ".txt"):
        if all((model_dir / f"{name}{ext}").is_file() for name in ("cameras", "images", "points3D")):
            break
    else:
        raise SemlatError(
            f"{model_dir} holds no COLMAP model (cameras, images and points3D as .bin or .txt): pass the sparse/0 folder COLMAP wrote"
        )
    try:
        return pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises ValueError, IndexError, RuntimeError, ... on damaged files
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise SemlatError(
            f"COLMAP model in {model_dir} cannot be read ({detail}): it is truncated or damaged, copy it again or re-export it from COLMAP"
        ) from exc


def _colmap_scene(root: Path, model_dir: Path, images_dir: Path) -> Scene:
    model = _read_model(model_dir)
    images = sorted(model.images.values(), key=lambda image: image.name)
    if not images:
        raise SemlatError(f"COLMAP model in {model_dir} has no images: pass a reconstructed model")
    paths = [_image_file(images_dir, image.name) for image in images]
    missing = [image.name for image, file in zip(images, paths) if file is None]
    if len(missing) == len(images):
        raise SemlatError(
            f"no image named in the COLMAP model {model_dir} is in {images_dir} (first: {missing[0]}): "
            "pass the scene whose photos the model was made from, or --images-subdir"
        )
    if missing:
        raise SemlatError(
            f"{len(missing)} image(s) named in the COLMAP model {model_dir} are not in {images_dir} (first: {missing[0]}): "
            "copy them there or pass the folder that holds all of them"
        )
    _check_unique([file.name for file in paths], model_dir)
    cameras, tracks = [], {}
    for image, file in zip(images, paths):
        width, height = image_size(file)
        camera = model.cameras[image.camera_id]
        scale = _scale(camera.width, camera.height, width, height, file)
        cameras.append(_colmap_pose(file.name, camera, image, width, height))
        tracks[file.name] = _observations(image, scale)
    return Scene(root, images_dir, paths, "colmap", cameras, SceneTracks(tracks), model_dir)


def _image_file(images_dir: Path, name: str) -> Path | None:
    """The file of a model image name (names may carry sub-folders; 3DGS readers use the base name)."""
    for candidate in (images_dir / name, images_dir / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def _check_unique(names: list[str], where: Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SemlatError(f"two images of {where} share the file name {name}: give them distinct names")
        seen.add(name)


def _scale(cam_width: int, cam_height: int, width: int, height: int, file: Path) -> tuple[float, float]:
    """(sx, sy) from the camera's size to the file's; refuses a file of another aspect (a wrong folder)."""
    sx, sy = width / cam_width, height / cam_height
    if abs(cam_height * sx - height) > SIZE_TOLERANCE and abs(cam_width * sy - width) > SIZE_TOLERANCE:
        raise SemlatError(
            f"image {file} is {width}x{height} but its camera is {cam_width}x{cam_height} (another aspect ratio): "
            "pass the images folder the model was made from (--images-subdir)"
        )
    return sx, sy


def _colmap_pose(name: str, camera: Any, image: Any, width: int, height: int) -> CameraPose:
    camera = copy.copy(camera)  # rescale changes it in place
    if (camera.width, camera.height) != (width, height):
        camera.rescale(width, height)
    cam_from_world = image.cam_from_world()
    x, y, z, w = (float(v) for v in cam_from_world.rotation.quat)  # Eigen's order
    quat = np.array([w, x, y, z])
    quat = -quat if quat[0] < 0 else quat
    return CameraPose(
        name,
        camera.model.name,
        int(width),
        int(height),
        tuple(float(v) for v in camera.params),
        tuple(float(v) for v in quat),  # type: ignore[arg-type]
        tuple(float(v) for v in cam_from_world.translation),  # type: ignore[arg-type]
    )


def _observations(image: Any, scale: tuple[float, float]) -> Observations:
    points = [point for point in image.points2D if point.has_point3D()]
    if not points:
        return Observations.empty()
    xy = np.array([point.xy for point in points], dtype=np.float64) * np.array(scale)
    return Observations(xy.astype(np.float32), np.array([point.point3D_id for point in points], dtype=np.int64))


# -- nerfstudio ------------------------------------------------------------------------------
_DISTORTION = {
    "OPENCV": ("k1", "k2", "p1", "p2"),
    "OPENCV_FISHEYE": ("k1", "k2", "k3", "k4"),
}


def _nerfstudio_scene(root: Path, images_subdir: str | None) -> Scene:
    meta = _read_transforms(root / TRANSFORMS_FILE)
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise SemlatError(
            f"{root / TRANSFORMS_FILE} has no frames: pass a transforms.json that lists the images (frames[].file_path)"
        )
    paths, cameras = [], []
    for index, frame in enumerate(frames):
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            raise SemlatError(f"frame {index} of {root / TRANSFORMS_FILE} has no file_path: fix the transforms.json")
        original = root / frame["file_path"]
        file = _downscaled(root, original, images_subdir)
        if not file.is_file():
            raise SemlatError(
                f"image {file} of frame {index} in {root / TRANSFORMS_FILE} does not exist: copy it there or pass --images-subdir"
            )
        paths.append(file)
        cameras.append(_nerfstudio_pose(root, meta, frame, index, original, file))
    _check_unique([file.name for file in paths], root / TRANSFORMS_FILE)
    order = sorted(range(len(paths)), key=lambda i: paths[i].name)
    images_dir = paths[order[0]].parent
    return Scene(root, images_dir, [paths[i] for i in order], "nerfstudio", [cameras[i] for i in order])


def _read_transforms(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SemlatError(f"{path} cannot be read as JSON ({exc}): fix or regenerate it with ns-process-data") from exc
    if not isinstance(meta, dict):
        raise SemlatError(f"{path} is not a JSON object: pass a nerfstudio transforms.json")
    return meta


def _downscaled(root: Path, original: Path, images_subdir: str | None) -> Path:
    """The frame's file in the ``images_subdir`` downscale (nerfstudio keeps the relative path under it)."""
    if not images_subdir:
        return original
    try:
        relative = original.relative_to(root / IMAGES_DIR)
    except ValueError:
        relative = Path(original.name)
    return root / images_subdir / relative


def _nerfstudio_pose(
    root: Path, meta: dict[str, Any], frame: dict[str, Any], index: int, original: Path, file: Path
) -> CameraPose:
    def value(key: str, default: Any = None) -> Any:
        return frame.get(key, meta.get(key, default))

    where = f"frame {index} of {root / TRANSFORMS_FILE}"
    try:
        fx, fy, cx, cy = (float(value(key)) for key in ("fl_x", "fl_y", "cx", "cy"))
        matrix = np.asarray(frame["transform_matrix"], dtype=np.float64)
    except (TypeError, ValueError, KeyError) as exc:
        raise SemlatError(f"{where} lacks intrinsics (fl_x fl_y cx cy) or a transform_matrix: fix the transforms.json") from exc
    if matrix.shape not in ((4, 4), (3, 4)) or not np.all(np.isfinite(matrix)):
        raise SemlatError(f"{where} has a transform_matrix of shape {matrix.shape}: it must be a 4x4 camera-to-world matrix")
    width, height = image_size(file)
    if value("w") is not None and value("h") is not None:
        full_w, full_h = int(value("w")), int(value("h"))
    else:
        full_w, full_h = image_size(original) if original.is_file() else (width, height)
    sx, sy = _scale(full_w, full_h, width, height, file)
    model = str(value("camera_model", "OPENCV"))
    names = _DISTORTION.get(model, ())
    distortion = tuple(float(value(name, 0.0)) for name in names)
    if model not in _DISTORTION or not any(distortion):
        model, distortion = "PINHOLE", ()
    qvec, tvec = _world_to_camera(matrix)
    params = (fx * sx, fy * sy, cx * sx, cy * sy, *distortion)
    return CameraPose(file.name, model, int(width), int(height), params, qvec, tvec)


def _world_to_camera(c2w: npt.NDArray[np.float64]) -> tuple[tuple[float, float, float, float], tuple[float, float, float]]:
    """COLMAP's world -> camera (qvec w x y z, tvec) of a camera-to-world matrix in OpenGL axes."""
    c2w = np.vstack([c2w[:3], [0.0, 0.0, 0.0, 1.0]])
    c2w[:3, 1:3] *= -1  # OpenGL (y up, z back) -> OpenCV/COLMAP (y down, z forward)
    w2c = np.linalg.inv(c2w)
    quat = _quaternion(w2c[:3, :3])
    return tuple(float(v) for v in quat), tuple(float(v) for v in w2c[:3, 3])  # type: ignore[return-value]


def _quaternion(rotation: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Unit quaternion (w, x, y, z), w >= 0, of a rotation matrix (through pycolmap's Rotation3d)."""
    import pycolmap

    x, y, z, w = pycolmap.Rotation3d(rotation).quat
    quat = np.array([w, x, y, z], dtype=np.float64)
    quat /= np.linalg.norm(quat)
    return -quat if quat[0] < 0 else quat
