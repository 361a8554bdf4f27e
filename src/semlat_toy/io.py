"""Write a rendered toy scene to disk in the layout a user's capture would have, plus ground truth.

Layout of a scene directory::

    images/view_00.png ...            RGB renders
    gt/view_00_instance.png ...       uint16 instance id per pixel (see scene.py for the ids)
    gt/view_00_depth.npy ...          float32 z-depth per pixel (0 = nothing hit)
    gt/classes.json                   instance id -> class name, objects, world, light
    sparse/0/{cameras,images,points3D}.txt   COLMAP text model of the views, with the 3D points
                                      and 2D observations an SfM run would find (`semlat_toy.sfm`)

The instance maps hold the true instance ids (duplicates of one class have ids of their own).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.errors import SemlatError
from semlat_toy.colmap import write_colmap_text
from semlat_toy.render import View, render_scene
from semlat_toy.scene import Scene, World, make_scene
from semlat_toy.sfm import sfm_points


class GroundTruth(NamedTuple):
    """Per-view instance maps of a written scene, in image-name order."""

    names: list[str]
    instances: list[npt.NDArray[np.int32]]
    classes: dict[int, str]


def view_name(index: int) -> str:
    return f"view_{index:02d}.png"


def write_scene(
    out_dir: Path | str, seed: int, n_views: int = 12, width: int = 256, height: int = 192, world: World | None = None
) -> Path:
    """Generate the scene for ``seed`` (in ``world``, default the default world), render the orbit
    and write everything to ``out_dir``."""
    scene = make_scene(seed, world=world)
    return write_views(out_dir, scene, render_scene(scene, n_views, width, height), world)


def write_views(out_dir: Path | str, scene: Scene, views: list[View], world: World | None = None) -> Path:
    """Write already rendered ``views`` of ``scene`` (any cameras) in the scene-directory layout."""
    root = Path(out_dir)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "gt").mkdir(parents=True, exist_ok=True)
    names = [view_name(index) for index in range(len(views))]
    for name, view in zip(names, views):
        stem = Path(name).stem
        Image.fromarray(view.image).save(root / "images" / name)
        Image.fromarray(view.instance.astype(np.uint16)).save(root / "gt" / f"{stem}_instance.png")
        np.save(root / "gt" / f"{stem}_depth.npy", view.depth)
    write_colmap_text(root / "sparse" / "0", [view.camera for view in views], names, sfm_points(views, scene.seed))
    meta = {
        "seed": scene.seed,
        "world": asdict(world or World()),
        "up_axis": "z",
        "classes": {str(k): v for k, v in scene.class_names().items()},
        "objects": {
            str(obj.instance_id): {**asdict(obj), "class_name": obj.class_name, "albedo": list(obj.albedo)}
            for obj in scene.objects
        },
        "room": None if scene.room is None else asdict(scene.room),
        "light_dir": list(scene.light_dir),
        "ambient": scene.ambient,
        "views": names,
    }
    (root / "gt" / "classes.json").write_text(json.dumps(meta, indent=2) + "\n")
    return root


def read_ground_truth(scene_dir: Path | str) -> GroundTruth:
    """Image names, instance maps (int32) and instance id -> class name of a written scene."""
    root = Path(scene_dir)
    try:
        meta = json.loads((root / "gt" / "classes.json").read_text())
    except FileNotFoundError as exc:
        raise SemlatError(f"{root} has no gt/classes.json: write it with semlat_toy.write_scene") from exc
    names = list(meta["views"])
    instances = [np.asarray(Image.open(root / "gt" / f"{Path(name).stem}_instance.png"), dtype=np.int32) for name in names]
    return GroundTruth(names, instances, {int(k): v for k, v in meta["classes"].items()})
