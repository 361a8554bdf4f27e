"""Toy world: deterministic multi-view scenes of coloured primitives with exact per-pixel truth.

Used to train the tiny CLIP and to measure the whole pipeline against ground truth. Conventions
(z-up world, COLMAP camera poses, instance ids) are documented in ``scene.py`` and ``camera.py``.
"""

from semlat_toy.camera import Camera, look_at, orbit_cameras, ray_directions
from semlat_toy.colmap import read_colmap_text, write_colmap_text
from semlat_toy.io import GroundTruth, read_ground_truth, write_scene, write_views
from semlat_toy.render import View, render_scene, render_view
from semlat_toy.scene import (
    COLOURS,
    FLOOR_ID,
    OBJECT_ID_START,
    SHAPES,
    SKY_ID,
    WALL_IDS,
    Room,
    Scene,
    SceneObject,
    make_scene,
)

__all__ = [
    "COLOURS",
    "FLOOR_ID",
    "OBJECT_ID_START",
    "SHAPES",
    "SKY_ID",
    "WALL_IDS",
    "Camera",
    "GroundTruth",
    "Room",
    "Scene",
    "SceneObject",
    "View",
    "look_at",
    "make_scene",
    "orbit_cameras",
    "ray_directions",
    "read_colmap_text",
    "read_ground_truth",
    "render_scene",
    "render_view",
    "write_colmap_text",
    "write_scene",
    "write_views",
]
