from pathlib import Path

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.types import FeatureKey, Region
from semlat.workspace import Workspace, regions_stage


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace.open_or_create(tmp_path / "ws")
    workspace.add_images([(Path("/photos/a.png"), 6, 4, "aaa"), (Path("/photos/b.png"), 6, 4, "bbb")])
    return workspace


def _square(region_id: int, label: int = 3) -> Region:
    mask = np.zeros((4, 6), bool)
    mask[1:3, region_id : region_id + 2] = True
    return Region.from_mask(region_id, mask, label=label)


def test_open_requires_a_workspace(tmp_path):
    with pytest.raises(SemlatError, match="not a semlat workspace"):
        Workspace.open(tmp_path)


def test_images_are_registered_once_and_changes_refused(ws):
    again = ws.add_images([(Path("/elsewhere/a.png"), 6, 4, "aaa"), (Path("/photos/c.png"), 6, 4, "ccc")])
    assert [r.image_id for r in again] == [0, 2]
    assert [r.file_name for r in ws.images()] == ["a.png", "b.png", "c.png"]
    with pytest.raises(SemlatError, match="differs"):
        ws.add_images([(Path("/photos/b.png"), 6, 4, "changed")])
    assert ws.image("b").image_id == 1
    with pytest.raises(SemlatError, match="no image named"):
        ws.image("zzz.png")


def test_image_count_is_counted_without_reading_the_images_and_follows_writes(ws, tmp_path, monkeypatch):
    reopened = Workspace.open(ws.root)
    monkeypatch.setattr(reopened, "_load_images", lambda: pytest.fail("the images were read"))
    assert reopened.image_count() == 2
    monkeypatch.undo()
    reopened.add_images([(Path("/photos/c.png"), 6, 4, "ccc")])
    assert reopened.image_count() == 3 == len(reopened.images())
    assert Workspace.open_or_create(tmp_path / "new").image_count() == 0


def test_memo_keeps_until_dropped_or_the_table_changes(ws):
    loads = []
    assert ws.memo("images", "x", lambda: loads.append(1) or 5) == 5 == ws.memo("images", "x", lambda: 6)
    ws.drop("images", "x")
    assert ws.peek("images", "x") is None and ws.memo("images", "x", lambda: 7) == 7
    ws.add_images([(Path("/photos/d.png"), 6, 4, "ddd")])
    assert ws.peek("images", "x") is None


def test_regions_round_trip_and_rewrite_replaces(ws):
    image = ws.images()[0]
    ws.write_regions("set", image.image_id, [_square(0), _square(2, label=5)])
    ws.write_regions("set", image.image_id, [_square(1, label=7)])  # a redo replaces, never appends
    (region,) = ws.regions("set", image)
    assert (region.region_id, region.label, region.area) == (1, 7, 4)
    np.testing.assert_array_equal(region.mask(), _square(1).mask())
    assert ws.done_images(regions_stage("set")) == {image.image_id}


def test_embeddings_round_trip_sorted_and_dimension_fixed(ws):
    image = ws.images()[1]
    key = FeatureKey("set", "m:x")
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    ws.write_embeddings(key, image.image_id, [1, -1, 0], vectors)
    ids, stored = ws.embeddings(key, image)
    assert ids.tolist() == [-1, 0, 1]
    np.testing.assert_array_equal(stored, vectors[[1, 2, 0]])
    with pytest.raises(SemlatError, match="5-d"):
        ws.write_embeddings(key, image.image_id, [-1], np.zeros((1, 7), np.float32))
    reopened = Workspace.open(ws.root)
    np.testing.assert_array_equal(reopened.embeddings(key, image)[1], stored)


def test_one_name_one_configuration(ws):
    ws.claim_config("region_sets", "set", {"backend": "classical"}, hint="rename")
    ws.claim_config("region_sets", "set", {"backend": "classical"}, hint="rename")
    with pytest.raises(SemlatError, match="other settings.*rename"):
        ws.claim_config("region_sets", "set", {"backend": "sam"}, hint="rename")
    assert Workspace.open(ws.root).region_sets() == ["set"]


def test_new_workspace_is_written_with_its_first_write(tmp_path):
    root = tmp_path / "new" / "ws"
    ws = Workspace.open_or_create(root)
    assert ws.images() == [] and ws.region_sets() == []
    assert not root.exists()  # opening and reading create nothing
    ws.add_images([(tmp_path / "a.png", 4, 3, "0" * 64)])
    assert (root / "semlat.json").is_file() and Workspace.open(root).images()[0].file_name == "a.png"


def test_prefetch_fills_the_memo_behind_and_a_write_meanwhile_discards_it(ws):
    import threading

    release = threading.Event()
    calls = []

    def slow():
        calls.append(1)
        release.wait(5)
        return len(calls)

    ws.prefetch("images", "count", slow)
    ws.prefetch("images", "count", slow)  # under way: not started twice
    assert ws.peek("images", "count") is None
    release.set()
    ws.settle()
    assert ws.peek("images", "count") == 1 and ws.memo("images", "count", lambda: 99) == 1 and calls == [1]

    release.clear()
    ws.forget("images")
    ws.prefetch("images", "count", slow)
    ws.add_images([(Path("/photos/c.png"), 6, 4, "ccc")])  # a write while it reads: its result is stale
    release.set()
    ws.settle()
    assert ws.peek("images", "count") is None
    assert ws.memo("images", "count", lambda: 7) == 7


def test_memo_waits_for_a_prefetch_under_way_instead_of_reading_twice(ws):
    import threading

    release = threading.Event()
    ws.prefetch("images", "slow", lambda: release.wait(5) and "from the thread")
    threading.Timer(0.2, release.set).start()
    assert ws.memo("images", "slow", lambda: "read again") == "from the thread"


def test_lookups_by_id_match_the_full_reads(ws):
    ws.write_regions("rs", 0, [_square(0, label=1), _square(2, label=4)])
    ws.write_regions("rs", 1, [_square(1, label=2)])
    ws.write_regions("other", 1, [_square(3, label=9)])
    fresh = Workspace.open(ws.root)
    assert {i: r.file_name for i, r in fresh.images_by_id([1, 5]).items()} == {1: "b.png"}  # looked up
    assert fresh.peek("images", "records") is None
    assert fresh.images_by_id([0, 1]) == {r.image_id: r for r in fresh.images()}  # now from the kept records
    every = fresh.region_columns("rs").to_pylist()
    assert fresh.region_columns("rs", [1]).to_pylist() == [row for row in every if row["image_id"] == 1]
    assert fresh.region_columns("rs", [0, 1]).sort_by("region_id").to_pylist() == sorted(every, key=lambda r: r["region_id"])
    assert fresh.region_columns("rs", []).num_rows == 0 and fresh.region_columns("other", [0]).num_rows == 0
