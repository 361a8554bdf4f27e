"""Collection search: ranking known by construction, filters, query by example, text queries, through the index."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.stages.search import SearchHit, parse_like, search
from semlat.stages.search.core import _RegionColumns
from semlat.types import FeatureKey, Region
from semlat.workspace import IndexSettings, Workspace, build_index
from tests.stages.search.conftest import DIM, KEY, make_workspace, ranked, unit


def test_vector_query_ranks_regions_in_the_known_order(known):
    ws, order = known
    hits = search(ws, vector=np.eye(DIM)[0], top=12)
    assert ranked(hits) == order
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = 1 / np.sqrt(1 + (0.1 + 0.15 * np.arange(12)) ** 2)
    np.testing.assert_allclose(scores, expected, atol=1e-6)


def test_results_are_typed_with_region_metadata(known):
    ws, _ = known
    (hit,) = search(ws, vector=np.eye(DIM)[0], top=1)
    score = pytest.approx(1 / np.sqrt(1.01), abs=1e-6)  # region (1, 2): e0 + 0.1·e7, normalised
    assert hit == SearchHit("view_01.png", 1, 2, 5, score, (4.0, 12.0, 24.0, 2.0), 48)


def test_top_by_image_and_whole_image_rows(known):
    ws, _ = known
    assert ranked(search(ws, vector=np.eye(DIM)[0], top=3, by="image")) == [(1, 2), (0, 1), (2, 0)]
    assert len(search(ws, vector=np.eye(DIM)[0], top=100)) == 12  # whole-image rows are left out
    with_whole = search(ws, vector=np.eye(DIM)[0], top=3, whole_images=True)
    assert {h.region_id for h in with_whole} == {-1} and all(h.score == pytest.approx(1.0) for h in with_whole)


def test_filters_on_image_name_label_and_area(known):
    ws, order = known
    q = np.eye(DIM)[0]
    assert ranked(search(ws, vector=q, image_glob="view_0[02]*")) == [p for p in order if p[0] != 1]
    assert ranked(search(ws, vector=q, label=5)) == [p for p in order if p in {(0, 3), (1, 2), (1, 3), (2, 0), (2, 1)}]
    big = search(ws, vector=q, min_area=0.2)  # only region 0 of each image is 8 rows high (1/3 of the image)
    assert ranked(big) == [(2, 0), (1, 0), (0, 0)]
    assert search(ws, vector=q, label=42) == []
    assert ranked(search(ws, vector=q, label=7, top=2, by="image")) == [(2, 2), (0, 0)]


def test_a_first_filtered_search_asks_the_indexes_and_reads_the_columns_behind(known):
    ws, order = known
    q = np.eye(DIM)[0]
    fresh = Workspace.open(ws.root)  # nothing of the region set in memory yet
    first = search(fresh, vector=q, label=5, levels=[0], image_glob="view_0[12]*", top=12)
    expected = [p for p in order if p in {(1, 2), (1, 3), (2, 0), (2, 1)}]
    assert ranked(first) == expected
    kept = fresh.memo("regions", ("search", KEY.region_set), lambda: None)  # waits for the read behind
    assert kept is not None and len(kept.keys) == 12
    again = Workspace.open(ws.root)
    again.memo("regions", ("search", KEY.region_set), lambda: _RegionColumns.load(again, KEY.region_set))
    assert search(again, vector=q, label=5, levels=[0], image_glob="view_0[12]*", top=12) == first


def test_level_filter_keeps_only_regions_of_those_levels(known):
    ws, order = known
    q = np.eye(DIM)[0]
    record = ws.image("view_01.png")
    parts = [replace(r, level=1 if r.region_id % 2 else 0) for r in ws.regions(KEY.region_set, record)]
    ws.write_regions(KEY.region_set, record.image_id, parts)
    whole = search(ws, vector=q, levels=[0], top=12)
    assert whole and all(hit.level == 0 for hit in whole)
    assert ranked(whole) == [p for p in order if not (p[0] == 1 and p[1] % 2)]
    assert ranked(search(ws, vector=q, levels=[1], top=12)) == [p for p in order if p[0] == 1 and p[1] % 2]
    assert search(ws, vector=q, levels=[2]) == []


def test_a_workspace_that_searched_sees_its_own_later_writes(known, tmp_path):
    ws, order = known
    q = np.eye(DIM)[0]
    assert search(ws, vector=q, top=1)[0].label == 5  # the kept region columns are now in memory
    record = ws.image("view_01.png")
    relabelled = [replace(r, label=9) for r in ws.regions(KEY.region_set, record)]
    ws.write_regions(KEY.region_set, record.image_id, relabelled)
    assert [h.label for h in search(ws, vector=q, top=1)] == [9]
    assert ranked(search(ws, vector=q, label=9)) == [p for p in order if p[0] == 1]
    folder = tmp_path / "more"
    folder.mkdir()
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(folder / "late.png")
    (late,) = ws.add_images([(folder / "late.png", 32, 24, "sha-late")])
    ws.write_regions(KEY.region_set, late.image_id, [Region.from_mask(0, np.ones((24, 32), bool), label=1)])
    ws.write_embeddings(KEY, late.image_id, [-1, 0], unit(np.stack([np.eye(DIM)[2], np.eye(DIM)[0]])))
    (hit,) = search(ws, vector=q, top=1)
    assert (hit.image, hit.label, hit.area) == ("late.png", 1, 24 * 32)


def test_query_by_example_returns_the_region_itself_first(known):
    ws, _ = known
    for image, region in [("view_00.png", 3), ("view_02", 1), ("view_01.png", 0)]:
        hits = search(ws, like=(image, region), top=3)
        assert (Path(hits[0].image).stem, hits[0].region_id) == (Path(image).stem, region)
        assert hits[0].score == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "empty query"),
        ({"query": "   "}, "empty query"),
        ({}, "empty query"),
        ({"like": ("view_00.png", 99)}, "has no region 99"),
        ({"like": ("nope.png", 0)}, "no image named"),
        ({"vector": np.zeros(DIM)}, "non-zero"),
        ({"vector": np.ones(DIM + 1)}, "16-d"),
        ({"vector": np.ones(DIM), "by": "label"}, "unknown --by"),
        ({"vector": np.ones(DIM), "score": "softmax"}, "unknown score"),
        ({"vector": np.ones(DIM), "top": 0}, "--top"),
        ({"vector": np.ones(DIM), "image_glob": "*.tif"}, "no image matches"),
        ({"vector": np.ones(DIM), "min_area": 5.0}, "fraction"),
        ({"vector": np.ones(DIM), "like": ("view_00.png", 0)}, "one query"),
    ],
)
def test_bad_queries_fail_with_one_clear_line(known, kwargs, message):
    ws, _ = known
    with pytest.raises(SemlatError, match=message):
        search(ws, **kwargs)


def test_empty_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(SemlatError, match="has no images: run `semlat masks`"):
        search(Workspace.open_or_create(tmp_path / "ws"), vector=np.ones(DIM))


@pytest.mark.parametrize(
    ("text", "parsed"), [("view_00.png:3", ("view_00.png", 3)), ("C:/scene/a.png:-1", ("C:/scene/a.png", -1))]
)
def test_parse_like(text, parsed):
    assert parse_like(text) == parsed


@pytest.mark.parametrize("bad", ["view_00.png", ":3", "a.png:x"])
def test_parse_like_refuses_what_is_not_image_colon_region(bad):
    with pytest.raises(SemlatError, match="IMAGE:REGION"):
        parse_like(bad)


def test_small_sets_are_searched_exactly_even_with_an_index(clustered):
    ws, rng = clustered
    queries = unit(rng.normal(size=(5, DIM)))
    before = [ranked(search(ws, vector=q, top=10)) for q in queries]
    build_index(ws, IndexSettings(num_partitions=2, num_sub_vectors=4))
    assert [ranked(search(ws, vector=q, top=10)) for q in queries] == before
    forced = [ranked(search(ws, vector=q, top=10, exact=False)) for q in queries]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(forced, before)])
    assert overlap >= 0.8  # approximate, but close


def test_forcing_the_index_where_there_is_none_is_a_clear_error(known):
    ws, _ = known
    with pytest.raises(SemlatError, match="no vector index"):
        search(ws, vector=np.ones(DIM), exact=False)


def test_text_query_finds_the_region_embedded_as_the_text_with_query_scores(tmp_path, tiny_checkpoint):
    from semlat.encoders import ModelSpec, load_encoder
    from semlat.scoring.fusion import scores_from_cosines
    from semlat.scoring.prompts import CANONICAL_PHRASES

    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    clip = load_encoder(spec, "cpu")
    zebra, *canonical = clip.encode_texts(["zebra", *CANONICAL_PHRASES]).astype(np.float64)
    rng = np.random.default_rng(3)
    per_image = [unit(rng.normal(size=(5, zebra.size))) for _ in range(3)]
    per_image[1][3] = zebra  # region 2 of image 1
    key = FeatureKey("rs", spec.key(), "raw")
    Workspace.open_or_create(tmp_path / "ws").claim_config("models", key.model_key, spec.record(), hint="")
    ws = make_workspace(tmp_path / "ws", per_image, key=key)

    hits = search(ws, "zebra", top=5, device="cpu")
    assert ranked(hits)[0] == (1, 2) and hits[0].score == pytest.approx(1.0, abs=1e-5)
    relevant = search(ws, "  zebra ", top=15, score="relevancy", device="cpu")
    assert ranked(relevant)[0] == (1, 2) and len(relevant) == 12
    for hit in relevant:
        f = unit(per_image[hit.image_id][hit.region_id + 1]).astype(np.float64)
        expected = scores_from_cosines(np.array([[f @ zebra]]), "relevancy", np.array([[f @ c for c in canonical]]))[0, 0]
        assert hit.score == pytest.approx(expected, abs=1e-5)
    assert [h.score for h in relevant] == sorted((h.score for h in relevant), reverse=True)


def test_index_search_keeps_to_the_feature_key_and_filters(clustered):
    ws, rng = clustered
    other = FeatureKey(KEY.region_set, KEY.model_key, "smoothed")
    ws.claim_config("feature_sets", str(other), {"strategy": "test"}, hint="")
    for record in ws.images():  # the same vectors again under another feature set: twice the neighbours
        ids, vectors = ws.embeddings(KEY, record)
        ws.write_embeddings(other, record.image_id, ids, vectors)
    build_index(ws, IndexSettings(num_partitions=2, num_sub_vectors=4))
    q = unit(rng.normal(size=DIM))
    for kwargs in ({}, {"label": 3}, {"image_glob": "view_04*"}, {"by": "image", "top": 4}):
        exact = search(ws, vector=q, key=KEY, exact=True, **kwargs)
        indexed = search(ws, vector=q, key=KEY, exact=False, **kwargs)
        assert len(indexed) == len(exact) and len(set(ranked(indexed)) & set(ranked(exact))) >= 0.8 * len(exact)
        if "image_glob" in kwargs:
            assert {h.image for h in indexed} == {"view_04.png"}
        if "label" in kwargs:
            assert {h.label for h in indexed} == {3}


@pytest.fixture
def halves(tmp_path):
    """6 images × 100 regions around 12 centres, label = region id % 2 (half the regions each), and an
    index whose codes are fine enough (one 8-bit code per dimension) that its order is the exact one."""
    rng = np.random.default_rng(1)
    centres = unit(rng.normal(size=(12, DIM)))
    per_image = [unit(centres[rng.integers(0, 12, 101)] + 0.3 * rng.normal(size=(101, DIM))) for _ in range(6)]
    ws = make_workspace(tmp_path / "ws", per_image, labels=[[r % 2 for r in range(100)] for _ in range(6)])
    build_index(ws, IndexSettings(num_partitions=2, num_sub_vectors=DIM))
    return ws, rng


@pytest.mark.parametrize(
    ("kwargs", "way"),
    [
        ({"label": 0, "top": 5}, "_postfiltered"),  # half the rows pass: the index's nearest rows, filtered here
        ({"label": 1, "top": 5, "by": "image"}, "_postfiltered"),
        ({"label": 1, "top": 5, "image_glob": "view_0[12]*"}, "_narrowed"),  # a sixth: exact over the two images
        ({"min_area": 0.2, "top": 5}, "_narrowed"),  # region 0 of each image: exact over six rows
        ({"image_glob": "view_03*", "top": 5}, "_narrowed"),
        ({"image_glob": "view_03*", "top": 5, "by": "image"}, "_narrowed"),
        ({"label": 0, "top": 8}, "_postfiltered"),
    ],
)
def test_filtered_index_searches_return_the_exact_filtered_search(halves, kwargs, way, monkeypatch):
    from semlat.stages.search import core

    ws, rng = halves
    calls = []
    for name in ("_postfiltered", "_narrowed"):
        original = getattr(core, name)
        monkeypatch.setattr(core, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    for q in unit(rng.normal(size=(4, DIM))):
        calls.clear()
        indexed = search(ws, vector=q, exact=False, **kwargs)
        assert calls == [way]
        exact = search(ws, vector=q, exact=True, **kwargs)
        one_image = kwargs.get("by") == "image" and "image_glob" in kwargs
        assert ranked(indexed) == ranked(exact) and len(exact) == (1 if one_image else kwargs["top"])
        np.testing.assert_allclose([h.score for h in indexed], [h.score for h in exact], atol=1e-5)
        assert [(h.label, h.area, h.bbox) for h in indexed] == [(h.label, h.area, h.bbox) for h in exact]


def test_filtered_index_searches_name_their_rows_from_row_ids_read_behind_the_first(halves, monkeypatch):
    from semlat.stages.search import core

    ws, rng = halves
    asked = []
    nearest, by_id = core.nearest_rows, core.rows_by_id
    monkeypatch.setattr(
        core, "nearest_rows", lambda t, v, w, n, columns, *a, **k: asked.append(columns) or nearest(t, v, w, n, columns, *a, **k)
    )
    monkeypatch.setattr(core, "rows_by_id", lambda t, ids, columns, **k: asked.append(columns) or by_id(t, ids, columns, **k))
    queries = unit(rng.normal(size=(3, DIM)))
    first = search(ws, vector=queries[0], exact=False, label=0, top=5)
    ws.settle()
    assert asked == [["image_id", "region_id"], ["image_id", "region_id", "vector"]]
    assert ws.peek("embeddings", "row-pairs") is not None
    for q in queries:
        asked.clear()
        found = search(ws, vector=q, exact=False, label=0, top=5)
        assert asked == [[], ["vector"]]  # row ids alone, then the chosen rows' vectors
        exact = search(ws, vector=q, exact=True, label=0, top=5)
        assert ranked(found) == ranked(exact)
        np.testing.assert_allclose([h.score for h in found], [h.score for h in exact], atol=1e-5)
    assert ranked(first) == ranked(search(ws, vector=queries[0], exact=False, label=0, top=5))
    ws.drop("embeddings", "row-pairs")  # kept ids that do not know the rows (never for one table version): read as before
    ws.memo("embeddings", "row-pairs", lambda: core._RowPairs(np.zeros(0, np.uint64), np.zeros((0, 2), np.int64)))
    assert ranked(search(ws, vector=queries[1], exact=False, label=0, top=5)) == ranked(
        search(ws, vector=queries[1], exact=True, label=0, top=5)
    )


def _exact_vector_reads(monkeypatch) -> list:
    """The ``where`` of every exact search that reads its rows' vectors (a selective filter's rows), as they happen."""
    from semlat.stages.search import core

    reads = []
    original = core.nearest_rows

    def nearest_rows(table, vector, where, limit, columns, *rest, **kwargs):
        if "vector" in columns and rest == ():
            reads.append(where)
        return original(table, vector, where, limit, columns, *rest, **kwargs)

    monkeypatch.setattr(core, "nearest_rows", nearest_rows)
    return reads


def test_a_selective_filter_reads_its_rows_once_and_again_after_a_write(halves, monkeypatch):
    ws, rng = halves
    reads = _exact_vector_reads(monkeypatch)
    queries = unit(rng.normal(size=(3, DIM)))
    for q in queries:  # the same filter three times (another text, the next page): one read, behind the first
        found = search(ws, vector=q, exact=False, image_glob="view_03*", top=5)
        ws.settle()
        assert ranked(found) == ranked(search(ws, vector=q, exact=True, image_glob="view_03*", top=5))
    search(ws, vector=queries[0], exact=False, image_glob="view_02*", top=5)  # another filter: its own read
    ws.settle()
    assert len(reads) == 2
    record = ws.images()[3]
    ids, vectors = ws.embeddings(KEY, record)
    moved = vectors.copy()
    moved[1:] = unit(moved[1:] + 5 * queries[0])  # view_03's regions now lie around the query
    ws.write_embeddings(KEY, record.image_id, ids, moved)
    after = search(ws, vector=queries[0], exact=False, image_glob="view_03*", top=5)
    ws.settle()
    assert len(reads) == 3 and ranked(after) == ranked(search(ws, vector=queries[0], exact=True, image_glob="view_03*", top=5))


def test_the_rows_of_only_the_last_eight_selective_filters_are_kept(halves, monkeypatch):
    from semlat.stages.search import core

    ws, rng = halves
    reads = _exact_vector_reads(monkeypatch)
    q = unit(rng.normal(size=DIM))
    filters = [{"image_glob": f"view_0{image}*", "label": label} for label in (0, 1) for image in range(5)][
        : core.KEPT_FILTERS + 1
    ]
    for kwargs in filters:
        search(ws, vector=q, exact=False, top=3, **kwargs)
        ws.settle()
    assert len(reads) == len(filters)
    search(ws, vector=q, exact=False, top=3, **filters[-1])  # kept: no read
    ws.settle()
    assert len(reads) == len(filters)
    search(ws, vector=q, exact=False, top=3, **filters[0])  # the oldest was let go: read again
    ws.settle()
    assert len(reads) == len(filters) + 1


def test_by_image_through_the_filtered_index_reaches_top_images_when_one_image_holds_the_nearest_rows(tmp_path):
    rng = np.random.default_rng(3)
    centre = unit(rng.normal(size=DIM))
    per_image = [unit(centre + (0.05 if image == 0 else 0.6) * rng.normal(size=(101, DIM))) for image in range(8)]
    ws = make_workspace(tmp_path / "ws", per_image, labels=[[r % 2 for r in range(100)] for _ in range(8)])
    build_index(ws, IndexSettings(num_partitions=2, num_sub_vectors=DIM))
    indexed = search(ws, vector=centre, exact=False, label=0, top=3, by="image")
    exact = search(ws, vector=centre, exact=True, label=0, top=3, by="image")
    assert [h.image for h in indexed] == [h.image for h in exact] and len(exact) == 3


def test_a_newly_opened_workspace_first_search_gives_the_warm_hits(halves):
    ws, rng = halves
    queries = unit(rng.normal(size=(3, DIM)))
    for kwargs in ({}, {"whole_images": True}, {"by": "image", "top": 4}):
        fresh = Workspace.open(ws.root)
        assert fresh.peek("regions", ("search", KEY.region_set)) is None
        first = [search(fresh, vector=q, exact=False, **kwargs) for q in queries[:1]]
        fresh.settle()  # the region set's columns and the images, read behind the first search
        assert fresh.peek("regions", ("search", KEY.region_set)) is not None and fresh.peek("images", "records")
        warm = [search(fresh, vector=q, exact=False, **kwargs) for q in queries[:1]]
        assert first == warm and all(first)
        assert {h.label for h in warm[0] if h.region_id >= 0} <= {0, 1}
    cold_exact = search(Workspace.open(ws.root), vector=queries[2], exact=True)
    assert cold_exact == search(ws, vector=queries[2], exact=True)


def test_row_pairs_find_rows_across_fragments_and_know_none_deleted_or_unknown():
    from semlat.stages.search.core import _RowPairs

    row_ids = np.array([(5 << 32) | 0, (5 << 32) | 2, (5 << 32) | 3, (9 << 32) | 1], np.uint64)  # offset 1 of 5 deleted
    pairs = np.arange(8).reshape(4, 2)
    named = _RowPairs(row_ids, pairs)
    assert named.find(row_ids[[3, 0, 2]]).tolist() == [[6, 7], [0, 1], [4, 5]]
    for unknown in ((5 << 32) | 1, 7 << 32, (9 << 32) | 5):
        assert named.find(np.array([unknown], np.uint64)) is None
    assert named.find(row_ids[:0]).shape == (0, 2)
