"""What a workspace keeps of a scene's reconstruction: per image its camera and its SfM observations.

The formats layer reads COLMAP and nerfstudio folders (`semlat.formats.scenes`); the stages (the
cross-view labels) use the cameras and tracks without importing it, so the record types live here,
beside the storage. Coordinates are those of the registered image file: when a scene's images are
a downscale (``images_4``), its intrinsics and observations are scaled to it. Observations use
COLMAP's pixel convention (the centre of the top-left pixel is (0.5, 0.5)).

Stored in two LanceDB tables keyed by image id, ``cameras`` and ``observations(image_id int32,
point3d_id int64, x float32, y float32)``; the manifest's ``scene`` entry, written last, marks the
pair as complete (`Workspace.write_scene`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

CAMERAS_SCHEMA = pa.schema(
    [
        ("image_id", pa.int32()),
        ("file_name", pa.string()),
        ("model", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("params", pa.list_(pa.float64())),
        ("qvec", pa.list_(pa.float64(), 4)),
        ("tvec", pa.list_(pa.float64(), 3)),
    ]
)
OBSERVATIONS_SCHEMA = pa.schema([("image_id", pa.int32()), ("point3d_id", pa.int64()), ("x", pa.float32()), ("y", pa.float32())])


@dataclass(frozen=True)
class CameraPose:
    """One registered image's camera, in COLMAP's terms.

    Args:
        file_name: the registered image's file name.
        model: COLMAP camera model name (PINHOLE, SIMPLE_RADIAL, OPENCV, ...).
        width: width of the registered image file (after any images_N downscale).
        height: its height.
        params: the model's COLMAP parameters, scaled to that resolution.
        qvec: world -> camera rotation as a unit quaternion (w, x, y, z).
        tvec: world -> camera translation.
    """

    file_name: str
    model: str
    width: int
    height: int
    params: tuple[float, ...]
    qvec: tuple[float, float, float, float]
    tvec: tuple[float, float, float]


@dataclass(frozen=True)
class Observations:
    """One image's SfM 2D observations that have a 3D point."""

    xy: npt.NDArray[np.float32]
    """(K, 2) pixel coordinates in the registered image, COLMAP's convention."""
    point3d_id: npt.NDArray[np.int64]
    """(K,) id of the 3D point each one observes."""

    @classmethod
    def empty(cls) -> Observations:
        return cls(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))


@dataclass(frozen=True)
class SceneTracks(Mapping[str, Observations]):
    """Per image file name, its `Observations` (``tracks[name].xy``, ``tracks[name].point3d_id``)."""

    images: dict[str, Observations] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Observations:
        return self.images[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def observations(self) -> int:
        """How many observations all images hold together."""
        return sum(len(obs.point3d_id) for obs in self.images.values())


class SceneSource(Protocol):
    """What the masks stage needs of a scene read by `semlat.formats.scenes.read_scene`."""

    root: Path
    kind: str
    cameras: list[CameraPose] | None
    tracks: SceneTracks | None


def camera_rows(cameras: list[tuple[int, CameraPose]]) -> pa.Table:
    """(image id, pose) pairs as rows of the ``cameras`` table."""
    return pa.Table.from_pylist(
        [
            {
                "image_id": image_id,
                "file_name": pose.file_name,
                "model": pose.model,
                "width": pose.width,
                "height": pose.height,
                "params": list(pose.params),
                "qvec": list(pose.qvec),
                "tvec": list(pose.tvec),
            }
            for image_id, pose in cameras
        ],
        schema=CAMERAS_SCHEMA,
    )


def pose_from_row(row: dict) -> CameraPose:
    return CameraPose(
        row["file_name"],
        row["model"],
        int(row["width"]),
        int(row["height"]),
        tuple(float(v) for v in row["params"]),
        tuple(float(v) for v in row["qvec"]),  # type: ignore[arg-type]
        tuple(float(v) for v in row["tvec"]),  # type: ignore[arg-type]
    )


def observation_rows(tracks: list[tuple[int, Observations]]) -> pa.Table:
    """(image id, observations) pairs as rows of the ``observations`` table (columnar, no Python loop per point)."""
    ids = [np.full(len(obs.point3d_id), image_id, np.int32) for image_id, obs in tracks]
    points = [np.asarray(obs.point3d_id, np.int64) for _, obs in tracks]
    xy = [np.asarray(obs.xy, np.float32).reshape(-1, 2) for _, obs in tracks]
    if not tracks:
        ids, points, xy = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)], [np.zeros((0, 2), np.float32)]
    coords = np.concatenate(xy)
    return pa.table(
        {
            "image_id": pa.array(np.concatenate(ids)),
            "point3d_id": pa.array(np.concatenate(points)),
            "x": pa.array(coords[:, 0]),
            "y": pa.array(coords[:, 1]),
        },
        schema=OBSERVATIONS_SCHEMA,
    )


def observations_from_rows(rows: pa.Table) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(xy (K, 2) float32, point3d_id (K,) int64) of an image's rows (empty arrays when there are none)."""
    if rows.num_rows == 0:
        empty = Observations.empty()
        return empty.xy, empty.point3d_id
    xy = np.stack([rows.column("x").to_numpy(), rows.column("y").to_numpy()], axis=1).astype(np.float32)
    return xy, rows.column("point3d_id").to_numpy().astype(np.int64)
