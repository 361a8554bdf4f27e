"""What a toy scene contains: coloured primitives standing on a checkered floor inside four walls.

World frame: right-handed, **z up**, metres-ish units. The floor is the plane z = 0; objects
stand on it around the origin; the room is the square |x|, |y| <= ``Room.half_size`` with walls
``Room.wall_height`` tall and no ceiling.

Instance ids are fixed so code can reason about them without reading the scene:
0 = sky (only when a ray escapes, or the scene has no room), 1 = floor, 2..5 = walls,
objects from ``OBJECT_ID_START`` (10) upwards. Class names: "sky", "floor", "wall", and
"<colour> <shape>" for objects (e.g. "red sphere"); in the default world each object class is
unique in a scene, so an object class names exactly one instance.

`World` makes scenes harder (the ``hard`` preset of `WORLDS`): duplicates (more instances of
classes already in the scene), procedural solid textures on objects, floor and walls, and small
clutter objects. Its extra objects are drawn from a random stream of their own, so the default
world's scenes stay what they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

SHAPES: tuple[str, ...] = ("sphere", "cube", "cylinder", "cone")

COLOURS: dict[str, tuple[float, float, float]] = {
    # Saturated and far apart in hue, so they never pass for the grey floor and walls.
    "red": (0.85, 0.10, 0.08),
    "green": (0.15, 0.65, 0.20),
    "blue": (0.12, 0.25, 0.85),
    "yellow": (0.92, 0.85, 0.05),
    "purple": (0.58, 0.12, 0.80),
    "orange": (0.95, 0.45, 0.03),
    "cyan": (0.10, 0.75, 0.80),
}

SKY_ID = 0
FLOOR_ID = 1
WALL_IDS: tuple[int, ...] = (2, 3, 4, 5)
OBJECT_ID_START = 10

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class SceneObject:
    """One primitive standing on the floor.

    ``centre`` is the centre of its bounding box (so ``centre[2] == height / 2``); ``size`` is
    the radius (sphere, cylinder, cone base) or half side (cube); ``yaw`` is the rotation about
    the vertical axis in radians (only visible on cubes).
    """

    instance_id: int
    shape: str
    colour: str
    centre: Vec3
    size: float
    height: float
    yaw: float = 0.0

    @property
    def class_name(self) -> str:
        return f"{self.colour} {self.shape}"

    @property
    def albedo(self) -> Vec3:
        return COLOURS[self.colour]

    @property
    def footprint_radius(self) -> float:
        """Radius of a vertical cylinder that contains the object: used to keep objects apart."""
        return self.size * np.sqrt(2.0) if self.shape == "cube" else self.size


@dataclass(frozen=True)
class Room:
    """Floor and walls: neutral greys (never confused with object colours), a checker on the floor
    so classical segmentation and feature matching see structure."""

    half_size: float = 6.0
    wall_height: float = 4.0
    floor_colours: tuple[Vec3, Vec3] = ((0.60, 0.60, 0.60), (0.50, 0.50, 0.50))
    checker: float = 0.5
    wall_colour: Vec3 = (0.82, 0.82, 0.82)


@dataclass(frozen=True)
class World:
    """What makes a world harder than the default one (see the module docstring).

    Args:
        duplicates: extra instances, each a copy of the class of an object already in the scene.
        textures: procedural solid textures on every surface (the renderer's `textured` albedo).
        clutter: small objects of random classes scattered wider on the floor.
    """

    duplicates: int = 0
    textures: bool = False
    clutter: int = 0


WORLDS: dict[str, World] = {"default": World(), "hard": World(duplicates=3, textures=True, clutter=6)}
"""The named worlds of `semlat toyworld render --world`."""


@dataclass(frozen=True)
class Scene:
    """Everything the renderer needs. ``room=None`` renders objects over a flat sky colour."""

    seed: int
    objects: tuple[SceneObject, ...]
    room: Room | None = field(default_factory=Room)
    textured: bool = False
    light_dir: Vec3 = (0.35, 0.25, 1.0)  # towards the light; normalised by the renderer
    ambient: float = 0.45
    sky_colour: Vec3 = (0.70, 0.80, 0.90)

    def class_names(self) -> dict[int, str]:
        """Instance id -> class name for every instance the scene can show (sky included)."""
        names = {SKY_ID: "sky"}
        if self.room is not None:
            names[FLOOR_ID] = "floor"
            names.update({wall: "wall" for wall in WALL_IDS})
        names.update({obj.instance_id: obj.class_name for obj in self.objects})
        return names

    def object(self, instance_id: int) -> SceneObject:
        for obj in self.objects:
            if obj.instance_id == instance_id:
                return obj
        raise KeyError(instance_id)

    def with_objects(self, objects: Iterable[SceneObject]) -> Scene:
        """Same room and light with other objects: e.g. one object alone, for occlusion checks or
        for rendering training crops."""
        return replace(self, objects=tuple(objects))


def make_scene(seed: int, n_objects: int | None = None, spread: float = 1.6, world: World | None = None) -> Scene:
    """A deterministic scene: 4-7 objects (or ``n_objects``) of distinct classes, clustered within
    ``spread`` of the origin so that orbit views see some objects behind others; ``world`` adds
    duplicates, textures and clutter."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(4, 8)) if n_objects is None else n_objects
    objects: list[SceneObject] = []
    for index, (shape, colour) in enumerate(_classes(rng, count)):
        objects.append(_place(rng, OBJECT_ID_START + index, shape, colour, objects, spread))
    world = world or World()
    extra = np.random.default_rng([seed, 12])  # the default world never draws from it
    for source in extra.choice(len(objects), size=world.duplicates, replace=world.duplicates > len(objects)):
        original = objects[int(source)]
        same = (original.size, original.size)
        objects.append(_place(extra, OBJECT_ID_START + len(objects), original.shape, original.colour, objects, spread, same))
    for _ in range(world.clutter):
        shape, colour = str(extra.choice(SHAPES)), str(extra.choice(list(COLOURS)))
        objects.append(_place(extra, OBJECT_ID_START + len(objects), shape, colour, objects, 2.6, (0.1, 0.18)))
    return Scene(seed=seed, objects=tuple(objects), textured=world.textures)


def _classes(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """``count`` distinct (shape, colour) pairs: shapes as balanced as possible and, up to
    ``len(COLOURS)`` objects, every colour different, so a colour word alone names one object."""
    combos = [(shape, colour) for shape in SHAPES for colour in COLOURS]
    if not 1 <= count <= len(combos):
        raise ValueError(f"n_objects must be in 1..{len(combos)}, got {count}")
    if count > len(COLOURS):
        return [combos[int(i)] for i in rng.choice(len(combos), size=count, replace=False)]
    shapes = np.concatenate([rng.permutation(SHAPES) for _ in range(-(-count // len(SHAPES)))])[:count]
    colours = rng.choice(list(COLOURS), size=count, replace=False)
    return [(str(shape), str(colour)) for shape, colour in zip(shapes, colours)]


def _place(
    rng: np.random.Generator,
    instance_id: int,
    shape: str,
    colour: str,
    placed: list[SceneObject],
    spread: float,
    sizes: tuple[float, float] = (0.28, 0.48),
) -> SceneObject:
    """Rejection-sample a footprint that touches no placed object; shrink the object if crowded."""
    size = float(rng.uniform(*sizes))
    height_factor = {"sphere": 2.0, "cube": 2.0, "cylinder": float(rng.uniform(1.6, 3.0))}
    factor = height_factor.get(shape, float(rng.uniform(2.2, 3.4)))
    yaw = float(rng.uniform(0.0, np.pi / 2))
    while True:
        for _ in range(200):
            radius, angle = spread * np.sqrt(rng.uniform()), rng.uniform(0.0, 2 * np.pi)
            x, y = float(radius * np.cos(angle)), float(radius * np.sin(angle))
            height = size * factor
            candidate = SceneObject(instance_id, shape, colour, (x, y, height / 2), size, height, yaw)
            if all(
                np.hypot(x - o.centre[0], y - o.centre[1]) > candidate.footprint_radius + o.footprint_radius + 0.05
                for o in placed
            ):
                return candidate
        size *= 0.85
