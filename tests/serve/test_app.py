"""The viewer's API through FastAPI's test client: answers equal the stages', ids only, 4xx never 5xx, nothing written."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from semlat.imageio import load_rgb
from semlat.scoring.prompts import MAX_PROMPT_CHARS, MAX_PROMPTS
from semlat.serve import Viewer, create_app
from semlat.stages.query import query_images
from semlat.stages.query.render import heatmap_overlay, map_ranges, segmentation_colours, segmentation_image
from semlat.stages.search import region_tile, search
from semlat.workspace import Workspace
from tests.conftest import snapshot
from tests.serve.conftest import build_toy_workspace

PROMPTS = "yellow cone, floor, wall"


@pytest.fixture(scope="module")
def client(toy_workspace):
    viewer = Viewer(toy_workspace, device="cpu")
    with TestClient(create_app(viewer), base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def test_info_and_gallery_describe_the_workspace(client, toy_workspace):
    ws = Workspace.open(toy_workspace)
    info = client.get("/api/info").json()
    assert info["images"] == 3 and info["features"] == [str(ws.feature_key())] and info["hint"] is None
    assert info["max_prompts"] == MAX_PROMPTS and len(info["colormap"]) == 11
    gallery = client.get("/api/images").json()
    assert [g["name"] for g in gallery] == [r.file_name for r in ws.images()]
    for entry, record in zip(gallery, ws.images()):
        regions = ws.regions("classical", record)
        assert entry["regions"] == len(regions) and entry["labels"] == len({r.label for r in regions if r.label >= 0})
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert "app.js" in client.get("/").text and client.get("/static/app.js").status_code == 200


def test_photos_are_the_workspace_pixels_at_their_own_size(client, toy_workspace):
    record = Workspace.open(toy_workspace).images()[1]
    np.testing.assert_array_equal(_png(client.get(f"/api/images/{record.image_id}/photo.png")), load_rgb(Path(record.path)))
    assert max(_png(client.get(f"/api/images/{record.image_id}/photo.png?size=64")).shape[:2]) == 64


def test_regions_carry_outlines_labels_and_levels(client, toy_workspace):
    ws = Workspace.open(toy_workspace)
    record = ws.images()[0]
    answer = client.get(f"/api/images/{record.image_id}/regions").json()
    stored = {r.region_id: r for r in ws.regions("classical", record)}
    assert {r["region_id"] for r in answer["regions"]} == set(stored) and answer["levels"] == [0]
    for region in answer["regions"]:
        assert region["label"] == stored[region["region_id"]].label and region["path"].startswith("M")


def test_a_query_answers_through_the_query_stage(client, toy_workspace):
    ws = Workspace.open(toy_workspace)
    record = ws.images()[2]
    prompts = [p.strip() for p in PROMPTS.split(",")]
    (expected,) = query_images(ws, prompts, images=[record.file_name], device="cpu")
    answer = client.get(f"/api/images/{record.image_id}/query", params={"prompts": PROMPTS}).json()
    assert answer["prompts"] == prompts and answer["fusion"] == "sum" and answer["score"] == "softmax"
    np.testing.assert_allclose(answer["ranges"], map_ranges(expected.maps), rtol=1e-5)
    assert answer["colours"] == ["#" + bytes(c.tolist()).hex() for c in segmentation_colours(3)]
    pixels = load_rgb(Path(record.path))
    for index in range(3):
        low, high = map_ranges(expected.maps)[index]
        heat = _png(client.get(f"/api/images/{record.image_id}/heatmap/{index}.png", params={"prompts": PROMPTS}))
        np.testing.assert_array_equal(heat, heatmap_overlay(pixels, expected.maps[index], low, high))
    seg = _png(client.get(f"/api/images/{record.image_id}/segmentation.png", params={"prompts": PROMPTS}))
    np.testing.assert_array_equal(seg, segmentation_image(pixels, expected.maps))
    best = answer["regions"]
    assert best and all(0 <= b["prompt"] < 3 for b in best.values())


def test_query_options_change_the_answer(client, toy_workspace):
    record = Workspace.open(toy_workspace).images()[0]
    cosine = {"prompts": PROMPTS, "score": "cosine"}
    ranges = np.asarray(client.get(f"/api/images/{record.image_id}/query", params=cosine).json()["ranges"])
    narrow = int(np.argmin(ranges[:, 1] - ranges[:, 0]))
    assert ranges[:, 1].max() - ranges[:, 0].min() > ranges[narrow, 1] - ranges[narrow, 0]  # not already the joint range
    url = f"/api/images/{record.image_id}/heatmap/{narrow}.png"
    own = _png(client.get(url, params=cosine))
    joint = _png(client.get(url, params={**cosine, "normalize": "joint"}))
    softmax = _png(client.get(url, params={"prompts": PROMPTS}))
    region = _png(client.get(url, params={**cosine, "fusion": "region"}))
    assert not np.array_equal(own, joint) and not np.array_equal(own, softmax) and not np.array_equal(own, region)
    other = _png(client.get(f"/api/images/{record.image_id}/heatmap/{(narrow + 1) % 3}.png", params=cosine))
    assert not np.array_equal(own, other)


def test_search_answers_through_the_search_stage(client, toy_workspace):
    ws = Workspace.open(toy_workspace)
    expected = search(ws, "yellow cone", top=5, device="cpu")
    answer = client.get("/api/search", params={"q": "yellow cone", "top": 5}).json()
    assert [(h["image_id"], h["region_id"]) for h in answer["hits"]] == [(h.image_id, h.region_id) for h in expected]
    first = expected[0]
    like = client.get("/api/search", params={"like": f"{first.image_id}:{first.region_id}", "top": 3}).json()["hits"]
    assert (like[0]["image_id"], like[0]["region_id"]) == (first.image_id, first.region_id)  # a region is its own nearest
    crop = _png(client.get(f"/api/images/{first.image_id}/regions/{first.region_id}/crop.png"))
    np.testing.assert_array_equal(crop, region_tile(ws, "classical", first))


def test_a_label_shows_its_regions_in_every_view(client, toy_workspace):
    ws = Workspace.open(toy_workspace)
    views_of: dict[int, set[int]] = {}
    for record in ws.images():
        for region in ws.regions("classical", record):
            views_of.setdefault(region.label, set()).add(record.image_id)
    label = max(views_of, key=lambda lab: len(views_of[lab]))
    assert len(views_of[label]) > 1
    answer = client.get(f"/api/labels/{label}").json()
    assert {v["image_id"] for v in answer["views"]} == views_of[label]
    for view in answer["views"]:
        stored = {r.region_id for r in ws.regions("classical", ws.images()[view["image_id"]]) if r.label == label}
        assert {r["region_id"] for r in view["regions"]} == stored


BAD_REQUESTS = {
    "unknown image": ("/api/images/99/regions", 404, "no image 99"),
    "negative image": ("/api/images/-1/photo.png", 404, "no image -1"),
    "image not a number": ("/api/images/abc/photo.png", 422, "image_id"),
    "image as a path": ("/api/images/..%2F..%2Fsemlat.json/photo.png", 404, ""),
    "unknown region crop": ("/api/images/0/regions/999/crop.png", 404, "no region 999"),
    "unknown label": ("/api/labels/9999", 404, "label 9999"),
    "unknown prompt index": ("/api/images/0/heatmap/5.png?prompts=a", 404, "no prompt 5"),
    "no prompts": ("/api/images/0/query?prompts=%20,%20", 400, "no prompts"),
    "missing prompts": ("/api/images/0/query", 422, "prompts"),
    "too many prompts": (f"/api/images/0/query?prompts={','.join(f'p{i}' for i in range(MAX_PROMPTS + 1))}", 400, "more than"),
    "a long prompt": (f"/api/images/0/query?prompts={'x' * (MAX_PROMPT_CHARS + 1)}", 400, "longer than"),
    "an enormous prompt list": (f"/api/images/0/query?prompts={'x,' * 20001}", 422, "prompts"),
    "unknown fusion": ("/api/images/0/query?prompts=a&fusion=max", 400, "unknown fusion"),
    "unknown score": ("/api/images/0/query?prompts=a&score=max", 400, "unknown score"),
    "unknown normalize": ("/api/images/0/query?prompts=a&normalize=global", 400, "unknown normalize"),
    "unknown features": ("/api/images/0/query?prompts=a&features=x/y/z", 400, "no feature set"),
    "unknown region set": ("/api/images/0/regions?region_set=nope", 400, "no region set"),
    "level not a number": ("/api/images/0/query?prompts=a&level=x", 422, "level"),
    "search with nothing": ("/api/search", 400, "empty query"),
    "search top 0": ("/api/search?q=a&top=0", 400, "top"),
    "search top huge": ("/api/search?q=a&top=100000", 400, "top"),
    "search like a path": ("/api/search?like=../semlat.json", 400, "IMAGE_ID:REGION_ID"),
    "search like unknown": ("/api/search?like=0:999", 404, "no region 999"),
    "search both": ("/api/search?q=a&like=0:1", 200, ""),
    "search bad by": ("/api/search?q=a&by=pixel", 400, "unknown --by"),
    "thumbnail too big": ("/api/images/0/photo.png?size=100000", 400, "size"),
    "static dot-dot": ("/static/../semlat.json", 404, ""),
    "static encoded dot-dot": ("/static/%2e%2e/%2e%2e/semlat.json", 404, ""),
    "static encoded slash": ("/static/..%2F..%2Fapp.py", 404, ""),
    "static absolute": ("/static//etc/passwd", 404, ""),
    "no report": ("/report", 404, "semlat metrics"),
    "unknown route": ("/semlat.json", 404, ""),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_get_a_json_4xx_never_a_500(client, case):
    path, status, message = BAD_REQUESTS[case]
    response = client.get(path)
    assert response.status_code == status, (response.status_code, response.text)
    if status >= 400:
        assert message in response.json()["error"]


def test_only_the_bound_host_is_answered(client):
    response = client.get("/api/info", headers={"host": "evil.example:8765"})
    assert response.status_code == 400 and "not served here" in response.json()["error"]
    assert client.get("/api/info", headers={"host": "localhost:8765"}).status_code == 200


def test_a_symlink_in_the_static_folder_is_not_followed(tmp_path, toy_workspace, monkeypatch):
    import semlat.serve.app as app_module

    secret = tmp_path / "secret.txt"
    secret.write_text("workspace secret")
    static = tmp_path / "static"
    shutil.copytree(Path(str(app_module.STATIC)), static)
    (static / "leak.txt").symlink_to(secret)
    monkeypatch.setattr(app_module, "STATIC", static)
    with TestClient(create_app(Viewer(toy_workspace, device="cpu")), base_url="http://127.0.0.1") as client:
        assert client.get("/static/app.js").status_code == 200
        response = client.get("/static/leak.txt")
        assert response.status_code == 404 and "secret" not in response.text


def test_serving_never_writes_to_the_workspace(tmp_path, toy_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(toy_workspace, ws)
    before = snapshot(ws)
    with TestClient(create_app(Viewer(ws, device="cpu")), base_url="http://127.0.0.1") as client:
        for path in ["/api/info", "/api/images", "/api/images/0/regions", "/api/images/0/photo.png", "/api/labels/0"]:
            client.get(path)
        client.get("/api/images/1/query", params={"prompts": PROMPTS})
        client.get("/api/images/1/heatmap/0.png", params={"prompts": PROMPTS})
        client.get("/api/search", params={"q": "floor", "score": "relevancy"})
        client.get("/api/images/0/regions/1/crop.png")
    assert snapshot(ws) == before


def test_a_workspace_without_embeddings_serves_the_gallery_and_says_what_to_run(tmp_path):
    ws = build_toy_workspace(tmp_path, views=2, embed=False)
    with TestClient(create_app(Viewer(ws, device="cpu")), base_url="http://127.0.0.1") as client:
        info = client.get("/api/info").json()
        assert info["features"] == [] and "semlat embed" in info["hint"]
        assert len(client.get("/api/images").json()) == 2
        assert client.get("/api/images/0/regions").json()["regions"]
        response = client.get("/api/images/0/query", params={"prompts": "floor"})
        assert response.status_code == 400 and "semlat embed" in response.json()["error"]
        assert client.get("/api/search", params={"q": "floor"}).status_code == 400


def test_the_consistency_report_is_served_when_given(tmp_path, toy_workspace):
    from semlat.errors import SemlatError
    from semlat.stages.consistency import compute_metrics, write_report

    report = write_report(compute_metrics(Workspace.open(toy_workspace)), tmp_path / "metrics", hints=False)
    with TestClient(create_app(Viewer(toy_workspace, report=report.parent)), base_url="http://127.0.0.1") as client:
        summary = client.get("/api/report").json()
        assert summary["available"] and summary["summary"]["images"] == 3
        page = client.get("/report")
        assert page.status_code == 200 and page.text == report.read_text()
    with pytest.raises(SemlatError, match="no report.html"):
        Viewer(toy_workspace, report=tmp_path)
