"""Load test of `semlat serve` on loopback: concurrent clients asking prompts of one 1000×750 image.

A toy-world view rendered at 1000×750 gets classical regions and toy-CLIP features; the server
(`semlat.serve.create_app` under uvicorn, its own process) answers CLIENTS concurrent clients that
together send QUERIES prompt queries, each a new set of 3 prompts (so every query computes its
maps: no map is served from the cache; the phrases' text embeddings are warmed first, as a
server that has seen them keeps them), each followed by the heatmap PNG of its first prompt
(drawn from the maps the query left in the cache). Reported: errors, throughput, and p50/p95
latency of both requests three ways: ``work`` (the handler's own time: the stage code, the
picture, from the ``Server-Timing`` header), ``server`` (from the request reaching the app to
the response leaving it: the wait for a worker thread included) and ``client`` (what the
clients saw: 20 of them sharing 2 cores, so mostly queueing).

Run: python benchmarks/bench_serve.py   (prints JSON, writes benchmarks/results/serve.json)
"""

from __future__ import annotations

import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

RESULTS = Path(__file__).parent / "results" / "serve.json"
CLIENTS = 20
QUERIES = 500
WIDTH, HEIGHT = 1000, 750
VOCABULARY = [
    f"{colour} {shape}"
    for colour in ("red", "green", "blue", "yellow", "cyan", "purple", "orange")
    for shape in ("cube", "sphere", "cone", "cylinder")
] + ["floor", "wall"]


def build_workspace(root: Path) -> tuple[Path, int]:
    from semlat.encoders import toy_model_spec
    from semlat.stages.embed import embed_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace
    from semlat_toy.io import write_scene

    scene = write_scene(root / "scene", 7, n_views=1, width=WIDTH, height=HEIGHT)
    ws = Workspace.open_or_create(root / "ws")
    propose_regions(ws, scene / "images", backend="classical")
    embed_regions(ws, model=toy_model_spec(), region_set="classical", device="cpu")
    return root / "ws", len(ws.regions("classical", ws.images()[0]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    code = (
        "import uvicorn; from semlat.serve import Viewer, create_app; "
        f"uvicorn.run(create_app(Viewer({str(workspace)!r}, device='cpu')), host='127.0.0.1', port={port}, log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("the server did not start")


def server_ms(response: httpx.Response) -> tuple[float, float]:
    """(app, work) milliseconds from the Server-Timing header."""
    entries = dict(part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
    return float(entries["app"]), float(entries["work"])


def percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "max": round(float(array.max()), 2),
    }


def main() -> dict[str, Any]:
    load_before = os.getloadavg()[0]  # other work on the machine slows every number here
    with tempfile.TemporaryDirectory() as tmp:
        workspace, regions = build_workspace(Path(tmp))
        port = free_port()
        server = start_server(workspace, port)
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(0)
        prompt_sets = []
        seen = set()
        while len(prompt_sets) < QUERIES:
            prompts = tuple(rng.sample(VOCABULARY, 3))
            if prompts not in seen:
                seen.add(prompts)
                prompt_sets.append(", ".join(prompts))
        try:
            with httpx.Client(base_url=base, timeout=60) as warm:  # loads the text model, encodes each phrase once
                start = time.perf_counter()
                warm.get("/api/images/0/query", params={"prompts": ", ".join(VOCABULARY)}).raise_for_status()
                first_ms = (time.perf_counter() - start) * 1000
            results: list[dict[str, Any]] = []

            def client(prompts: list[str]) -> None:
                with httpx.Client(base_url=base, timeout=60) as http:
                    for text in prompts:
                        record: dict[str, Any] = {}
                        start = time.perf_counter()
                        query = http.get("/api/images/0/query", params={"prompts": text})
                        record["query_client_ms"] = (time.perf_counter() - start) * 1000
                        start = time.perf_counter()
                        heat = http.get("/api/images/0/heatmap/0.png", params={"prompts": text})
                        record["heatmap_client_ms"] = (time.perf_counter() - start) * 1000
                        record["ok"] = query.status_code == 200 and heat.status_code == 200
                        if record["ok"]:
                            record["query_server_ms"], record["query_work_ms"] = server_ms(query)
                            record["heatmap_server_ms"], record["heatmap_work_ms"] = server_ms(heat)
                        results.append(record)

            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(client, [prompt_sets[i::CLIENTS] for i in range(CLIENTS)]))
            wall = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(10)
    ok = [r for r in results if r["ok"]]
    summary = {
        "setup": {
            "image": f"{WIDTH}x{HEIGHT}",
            "regions": regions,
            "prompts_per_query": 3,
            "clients": CLIENTS,
            "queries": QUERIES,
            "model": "semlat-toy",
            "cpu_count": os.cpu_count(),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "first_query_ms": {"value": round(first_ms, 1), "what": f"model load and {len(VOCABULARY)} phrases encoded"},
        "errors": len(results) - len(ok),
        "requests": 2 * len(results),
        "wall_s": round(wall, 2),
        "queries_per_s": round(len(results) / wall, 1),
        "query_work_ms": percentiles([r["query_work_ms"] for r in ok]),
        "query_server_ms": percentiles([r["query_server_ms"] for r in ok]),
        "query_client_ms": percentiles([r["query_client_ms"] for r in results]),
        "heatmap_work_ms": percentiles([r["heatmap_work_ms"] for r in ok]),
        "heatmap_server_ms": percentiles([r["heatmap_server_ms"] for r in ok]),
        "heatmap_client_ms": percentiles([r["heatmap_client_ms"] for r in results]),
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
