"""`semlat search` and `semlat index` through the real entry point (skipped until the commands are registered)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.stages.search.test_search import DIM, make_workspace, unit


def _registered(name: str) -> bool:
    from semlat.cli import app

    return any((command.name or command.callback.__name__) == name for command in app.registered_commands)


pytestmark = pytest.mark.skipif(not _registered("search"), reason="`semlat search` is not registered in semlat.cli yet")


@pytest.fixture
def workspace(tmp_path):
    rng = np.random.default_rng(1)
    make_workspace(tmp_path / "ws", [unit(rng.normal(size=(5, DIM))) for _ in range(3)])
    return tmp_path / "ws"


def test_search_by_example_prints_the_region_first_and_writes_a_sheet(cli, workspace, tmp_path):
    code, out, err = cli("search", "-w", workspace, "--like", "view_01.png:2", "--top", "4", "-o", tmp_path / "out")
    assert code == 0, err
    lines = out.splitlines()
    assert "view_01.png:2" in lines[0] and "1.0000" in lines[0]
    assert len([line for line in lines if "label" in line]) == 4
    saved = json.loads((tmp_path / "out" / "search.json").read_text())
    assert (saved["hits"][0]["image"], saved["hits"][0]["region_id"]) == ("view_01.png", 2)
    assert (tmp_path / "out" / "search.png").is_file()


def test_search_by_image_with_filters(cli, workspace):
    code, out, err = cli("search", "-w", workspace, "--like", "view_00:1", "--by", "image", "--image", "view_0[01]*", "--exact")
    assert code == 0, err
    images = [line.split()[2].split(":")[0] for line in out.splitlines()]
    assert images[0] == "view_00.png" and sorted(images) == ["view_00.png", "view_01.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "empty query"),
        ((), "empty query"),
        (("--like", "view_00.png:99"), "has no region 99"),
        (("--like", "view_00.png"), "IMAGE:REGION"),
        (("--like", "view_00.png:1", "--by", "label"), "unknown --by"),
    ],
)
def test_bad_searches_exit_2_with_one_line(cli, workspace, args, message):
    code, _, err = cli("search", "-w", workspace, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_empty_workspace_exits_2(cli, tmp_path):
    from semlat.workspace import Workspace

    Workspace.open_or_create(tmp_path / "empty").save_manifest()
    code, _, err = cli("search", "-w", tmp_path / "empty", "chair")
    assert code == 2 and "has no images: run `semlat masks`" in err
    code, _, err = cli("index", "-w", tmp_path / "empty")
    assert code == 2 and "no embeddings" in err


def test_index_on_a_tiny_workspace_explains_it_needs_none(cli, workspace):
    code, _, err = cli("index", "-w", workspace)
    assert code == 2 and "need no index" in err
