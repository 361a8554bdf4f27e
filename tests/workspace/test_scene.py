"""The scene records and their storage: `Workspace.write_scene`, `cameras`, `observations`, `has_tracks`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.workspace import CameraPose, Observations, SceneTracks, Workspace

POSE = CameraPose("a.png", "PINHOLE", 6, 4, (5.0, 5.0, 3.0, 2.0), (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 1.0))


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace.open_or_create(tmp_path / "ws")
    workspace.add_images([(Path("/photos/a.png"), 6, 4, "aaa"), (Path("/photos/b.png"), 6, 4, "bbb")])
    return workspace


def tracks(*names: str) -> SceneTracks:
    return SceneTracks(
        {
            name: Observations(np.array([[0.5, 0.5], [5.5, 3.5]], np.float32) + i, np.array([7, 100 + i], np.int64))
            for i, name in enumerate(names)
        }
    )


def test_a_workspace_without_a_scene_has_none(ws):
    assert ws.cameras() == {} and not ws.has_tracks()
    xy, ids = ws.observations(0)
    assert xy.shape == (0, 2) and xy.dtype == np.float32 and ids.shape == (0,) and ids.dtype == np.int64


def test_the_scene_round_trips_by_image_id_and_survives_reopening(ws, tmp_path):
    ws.write_scene([POSE, CameraPose("b.png", *list(vars(POSE).values())[1:])], tracks("b.png"), kind="colmap", source="/s")
    for workspace in (ws, Workspace.open(tmp_path / "ws")):
        assert workspace.cameras() == {0: POSE, 1: CameraPose("b.png", *list(vars(POSE).values())[1:])}
        assert workspace.has_tracks()
        xy, ids = workspace.observations(1)
        np.testing.assert_array_equal(xy, tracks("b.png")["b.png"].xy)
        assert ids.tolist() == [7, 100]
        assert workspace.observations(0)[1].size == 0
        assert workspace.manifest.scene == {"kind": "colmap", "source": "/s", "cameras": 2, "tracks": True, "observations": 2}


def test_a_new_scene_replaces_the_old_one(ws):
    ws.write_scene([POSE], tracks("a.png", "b.png"))
    ws.write_scene([POSE], None, kind="nerfstudio")
    assert not ws.has_tracks() and ws.observations(0)[1].size == 0 and list(ws.cameras()) == [0]
    assert ws.rows("observations").num_rows == 0


def test_a_scene_of_unregistered_images_is_refused_before_writing(ws):
    before = ws.manifest.scene
    with pytest.raises(SemlatError, match="not registered .*first: c.png"):
        ws.write_scene([POSE], tracks("c.png"))
    assert ws.manifest.scene == before and ws.cameras() == {}


def test_a_half_written_scene_is_not_read(ws):
    ws.write_scene([POSE], tracks("a.png"))
    ws.manifest.scene = None  # as a run killed between the tables and the manifest leaves it
    assert ws.cameras() == {} and not ws.has_tracks() and ws.observations(0)[1].size == 0
