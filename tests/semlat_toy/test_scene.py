"""Scene generation: deterministic, distinct classes, objects standing apart on the floor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from semlat_toy import COLOURS, FLOOR_ID, OBJECT_ID_START, SHAPES, SKY_ID, WALL_IDS, make_scene


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
        assert obj.class_name == f"{obj.colour} {obj.shape}"
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
    assert all(names[o.instance_id] == o.class_name for o in scene.objects)
    assert scene.object(OBJECT_ID_START) is scene.objects[0]


def test_object_count_can_be_chosen():
    assert len(make_scene(0, n_objects=1).objects) == 1
    assert len({o.class_name for o in make_scene(0, n_objects=28).objects}) == 28
    with pytest.raises(ValueError):
        make_scene(0, n_objects=29)
