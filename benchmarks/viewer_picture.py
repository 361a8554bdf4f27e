"""The README's screenshot of `semlat serve`: an image of a `semlat demo` workspace asked a few prompts.

Starts the viewer on loopback, drives headless Chromium (Debian's, through Playwright) to an
image, asks the prompts, clicks the label of the region under the chosen point so the other
views show it, and saves the page.

Run: python benchmarks/viewer_picture.py semlat-demo/workspace [--report semlat-demo/metrics]
     (the README's: the workspace of `semlat demo`, MobileSAM regions, view 0, level 1, the yellow cone)
     (writes docs/viewer.png)
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from semlat.serve import Viewer, create_app

OUT = Path(__file__).parent.parent / "docs" / "viewer.png"
PROMPTS = "yellow cone, green cylinder, blue sphere, floor"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--image", type=int, default=0)
    parser.add_argument("--level", default="1", help="region level to outline (all: every level)")
    parser.add_argument(
        "--label-at", type=float, nargs=2, default=(0.535, 0.62), help="point (x, y as fractions) whose label to show"
    )
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(Viewer(args.workspace, report=args.report, device="cpu")), log_level="warning")
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1300}, bypass_csp=True)
        page.goto(f"http://127.0.0.1:{port}/#/image/{args.image}")
        page.wait_for_selector("#outlines path")
        page.select_option("#level", args.level)
        page.fill("#prompts", PROMPTS)
        page.click("#ask")
        page.wait_for_function(
            "document.querySelectorAll('.heatmap img').length > 0 && "
            "[...document.querySelectorAll('.heatmap img, #segmentation')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=120_000,
        )
        box = page.locator("#photo-wrap").bounding_box()
        x, y = box["x"] + args.label_at[0] * box["width"], box["y"] + args.label_at[1] * box["height"]
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_selector("#crossview-views .card img")
        page.wait_for_function("[...document.querySelectorAll('img')].every(i => i.complete)")
        page.mouse.move(x, y)
        page.screenshot(path=str(args.output))
        browser.close()
    server.should_exit = True
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
