"""`semlat search` and `semlat index` through the real entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.stages.search.conftest import DIM, make_workspace, unit


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


def test_search_options_reach_the_stage_and_the_results_file(cli, workspace, tmp_path, monkeypatch):
    from semlat.encoders import ModelSpec
    from semlat.stages import search
    from semlat.workspace import Workspace

    calls = []
    monkeypatch.setattr(search, "search", lambda ws, text, **options: calls.append((text, options)) or [])
    args = ["--top", "3", "--by", "image", "--score", "relevancy", "--image", "view_0*", "--label", "2", "--level", "1"]
    args += ["--level", "2", "--min-area", "0.1"]
    code, out, err = cli("search", "-w", workspace, "chair", *args, "--exact", "--model", "semlat-tiny", "--pretrained", "w.pt")
    assert code == 0, err
    assert "no matching regions" in out
    code, _, err = cli("search", "-w", workspace, "--like", "view_00.png:1", "-o", tmp_path / "out")
    assert code == 0, err
    (text, options), (no_text, defaults) = calls
    assert text == "chair" and no_text is None
    assert options == {
        "like": None,
        "top": 3,
        "by": "image",
        "key": Workspace.open(workspace).feature_key(),
        "score": "relevancy",
        "image_glob": "view_0*",
        "label": 2,
        "levels": [1, 2],
        "min_area": 0.1,
        "exact": True,
        "text_model": ModelSpec("semlat-tiny", "w.pt"),
        "device": "auto",
    }
    assert (defaults["like"], defaults["top"], defaults["by"], defaults["exact"], defaults["text_model"]) == (
        ("view_00.png", 1),
        20,
        "region",
        None,
        None,
    )
    saved = json.loads((tmp_path / "out" / "search.json").read_text())
    assert saved["like"] == "view_00.png:1" and saved["top"] == 20 and saved["hits"] == []
    assert not (tmp_path / "out" / "search.png").exists()


def test_index_builds_on_a_large_enough_workspace_and_says_searches_stay_exact(cli, tmp_path):
    from semlat.workspace import Workspace
    from semlat.workspace.vectors import SCALAR_INDEXES

    rng = np.random.default_rng(0)
    make_workspace(tmp_path / "ws", [unit(rng.normal(size=(101, DIM))) for _ in range(3)])
    code, out, err = cli("index", "-w", tmp_path / "ws", "--partitions", "2")
    assert code == 0, err
    assert "IVF_PQ index over 303 embeddings" in out and "searches stay exact" in out
    opened = Workspace.open(tmp_path / "ws")
    assert opened.manifest.index["num_partitions"] == 2
    for table, columns in SCALAR_INDEXES.items():  # the filters' scalar indexes come with the vector index
        kinds = {config.columns[0]: config.index_type.upper() for config in opened.table(table).list_indices()}
        assert {column: kinds.get(column) for column in columns} == columns, table
    code, _, err = cli("index", "-w", tmp_path / "ws", "--type", "FLAT")
    assert code == 2 and "unknown index type" in err
