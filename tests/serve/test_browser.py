"""The page in a real browser: headless Chromium (Debian's, driven by Playwright) against a live server on loopback.

Opens the gallery, an image, asks two prompts and compares their heatmaps' pixels, clicks a
label and finds its regions drawn in the other views, hovers a region, runs a search and opens
a hit. Screenshots of each step go to the test's tmp folder.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from semlat.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
if not CHROMIUM.exists():
    pytest.skip(
        f"Debian's chromium is not installed ({CHROMIUM}): apt-get install -y chromium (.ci/run does)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def server(toy_workspace):
    """`semlat serve`'s app on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    from semlat.serve import Viewer, create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(Viewer(toy_workspace, device="cpu")), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def page(server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # for wait_for_function
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(20_000)
        yield page
        browser.close()
        assert not errors, errors


DIFFERING_PIXELS = """([a, b]) => {
  const pixels = (img) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    return context.getImageData(0, 0, canvas.width, canvas.height).data;
  };
  const [x, y] = [pixels(a), pixels(b)];
  let differ = 0;
  for (let i = 0; i < x.length; i += 4) if (x[i] !== y[i] || x[i + 1] !== y[i + 1] || x[i + 2] !== y[i + 2]) differ++;
  return [differ, x.length / 4];
}"""


def test_gallery_image_prompts_labels_and_search_in_chromium(page, server, toy_workspace, tmp_path):
    ws = Workspace.open(toy_workspace)
    records = ws.images()
    page.goto(server + "/")
    page.wait_for_function("document.querySelectorAll('#gallery .card').length === 3")
    assert "24 regions" in page.inner_text("#gallery .card >> nth=0")
    page.screenshot(path=tmp_path / "gallery.png")

    page.click("#gallery .card >> nth=0")
    page.wait_for_selector("#outlines path")
    assert page.locator("#outlines path").count() == len(ws.regions("classical", records[0]))
    page.hover("#photo-wrap")  # its centre: whichever region is on top there
    assert "label" in page.inner_text("#hover-info") and "px" in page.inner_text("#hover-info")

    page.fill("#prompts", "yellow cone, floor")
    page.click("#ask")
    page.wait_for_function(
        "document.querySelectorAll('.heatmap img').length === 2 && "
        "[...document.querySelectorAll('.heatmap img, #segmentation')].every(i => i.complete && i.naturalWidth > 0)"
    )
    differ, total = page.evaluate(DIFFERING_PIXELS, page.locator(".heatmap img").element_handles())
    assert total == records[0].width * records[0].height and differ > total // 10  # two prompts, two different maps
    assert page.locator("#legend span.swatch").count() == 2 and not page.is_hidden("#seg-figure")
    page.screenshot(path=tmp_path / "image.png", full_page=True)

    views_of: dict[int, set[int]] = {}
    for record in records:
        for region in ws.regions("classical", record):
            views_of.setdefault(region.label, set()).add(record.image_id)
    here = {r.label for r in ws.regions("classical", records[0])}
    label = max((lab for lab in here if lab >= 0), key=lambda lab: len(views_of[lab]))
    others = views_of[label] - {records[0].image_id}
    assert others, "the toy workspace has a label seen in several views"
    page.click(f'#labels-line .chip[data-label="{label}"]')
    page.wait_for_selector("#crossview-views .card")
    shown = {int(v) for v in page.locator("#crossview-views .card").evaluate_all("cs => cs.map(c => c.dataset.image)")}
    assert shown == others
    assert page.locator("#crossview-views .card svg path").count() >= len(others)  # the label's regions drawn there
    assert page.locator(f'#outlines path.chosen[data-label="{label}"]').count() > 0
    page.screenshot(path=tmp_path / "crossview.png", full_page=True)

    page.click("header nav a[data-view=search]")
    page.fill("#search-text", "yellow cone")
    page.click("#search-go")
    page.wait_for_selector("#search-results .card img")
    assert page.locator("#search-results .card").count() == 12
    page.screenshot(path=tmp_path / "search.png")
    first = page.locator("#search-results .card >> nth=0")
    target = int(first.get_attribute("data-image"))
    first.click()
    page.wait_for_selector("#outlines path.chosen")
    assert page.url.split("#")[1].startswith(f"/image/{target}")
    assert records[target].file_name in page.inner_text("#image-title")
