"""Scene generation: deterministic, distinct classes, objects standing apart on the floor."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from semlat_toy import COLOURS, FLOOR_ID, OBJECT_ID_START, SHAPES, SKY_ID, WALL_IDS, Room, SceneObject, make_scene


def test_vocabulary_is_large_enough():
    assert set(SHAPES) >= {"sphere", "cube", "cylinder", "cone"}
    assert len(COLOURS) >= 6


def test_colours_are_saturated_and_far_apart():
    """No colour is grey (floor and walls are) and no two colours share a direction."""
    directions = {name: np.asarray(rgb) / np.linalg.norm(rgb) for name, rgb in COLOURS.items()}
    grey = np.ones(3) / np.sqrt(3)
    for name, direction in directions.items():
        assert direction @ grey < 0.9, name
    for (a, da), (b, db) in itertools.combinations(directions.items(), 2):
        assert da @ db < 0.96, (a, b)


def test_same_seed_same_scene_other_seed_other_scene():
    assert make_scene(3) == make_scene(3)
    assert make_scene(3).objects != make_scene(4).objects


@pytest.mark.parametrize("seed", range(12))
def test_objects_are_distinct_on_the_floor_and_apart(seed):
    scene = make_scene(seed)
    objects = scene.objects
    assert 4 <= len(objects) <= 7
    assert [o.instance_id for o in objects] == list(range(OBJECT_ID_START, OBJECT_ID_START + len(objects)))
    assert len({o.class_name for o in objects}) == len(objects)
    assert len({o.colour for o in objects}) == len(objects)
    for obj in objects:
        assert obj.shape in SHAPES and obj.albedo == COLOURS[obj.colour]
        assert obj.centre[2] == pytest.approx(obj.height / 2)
        assert np.hypot(*obj.centre[:2]) < scene.room.half_size / 2
    for a, b in itertools.combinations(objects, 2):
        gap = np.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1])
        assert gap > a.footprint_radius + b.footprint_radius


def test_class_names_cover_room_and_objects():
    scene = make_scene(0)
    names = scene.class_names()
    assert names[SKY_ID] == "sky" and names[FLOOR_ID] == "floor"
    assert all(names[wall] == "wall" for wall in WALL_IDS)
    assert all(names[o.instance_id] == f"{o.colour} {o.shape}" for o in scene.objects)
    assert set(names) == {SKY_ID, FLOOR_ID, *WALL_IDS, *(o.instance_id for o in scene.objects)}
    assert scene.object(OBJECT_ID_START) is scene.objects[0]
    with pytest.raises(KeyError):
        scene.object(SKY_ID)


def test_with_objects_keeps_the_room_and_a_roomless_scene_has_no_floor_or_walls():
    scene = make_scene(0)
    bare = scene.with_objects(scene.objects[:1])
    assert bare.room == Room() and bare.light_dir == scene.light_dir and bare.objects == scene.objects[:1]
    names = replace(scene, room=None).class_names()
    assert FLOOR_ID not in names and not set(WALL_IDS) & set(names)


def test_footprint_contains_the_object():
    cube = SceneObject(OBJECT_ID_START, "cube", "red", (0.0, 0.0, 0.5), 0.5, 1.0)
    assert cube.footprint_radius == pytest.approx(0.5 * np.sqrt(2))  # half the diagonal
    assert replace(cube, shape="cylinder").footprint_radius == 0.5


@pytest.mark.parametrize("count", [1, 7, 8, 28])
def test_object_count_can_be_chosen(count):
    objects = make_scene(0, n_objects=count).objects
    assert len(objects) == len({o.class_name for o in objects}) == count
    if count <= len(COLOURS):  # every colour different: a colour word names one object
        assert len({o.colour for o in objects}) == count


@pytest.mark.parametrize("count", [0, 29])
def test_impossible_object_counts_are_refused(count):
    with pytest.raises(ValueError, match="n_objects"):
        make_scene(0, n_objects=count)


def test_hard_world_adds_duplicates_and_clutter_and_keeps_the_default_scene():
    from semlat_toy.scene import WORLDS, World

    default = make_scene(5)
    hard = make_scene(5, world=WORLDS["hard"])
    assert hard.objects[: len(default.objects)] == default.objects and not default.textured and hard.textured
    extra = hard.objects[len(default.objects) :]
    assert len(extra) == WORLDS["hard"].duplicates + WORLDS["hard"].clutter
    classes = [o.class_name for o in hard.objects]
    duplicates = extra[: WORLDS["hard"].duplicates]
    assert all(classes.count(o.class_name) >= 2 for o in duplicates)
    assert len({o.instance_id for o in hard.objects}) == len(hard.objects)
    assert max(o.size for o in extra[WORLDS["hard"].duplicates :]) <= 0.18  # clutter is small
    assert make_scene(5, world=World()) == default
