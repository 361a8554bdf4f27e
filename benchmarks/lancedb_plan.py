"""Where a search's time goes inside LanceDB: the plan's own timings against the call's, on a kept 1M workspace.

    python benchmarks/lancedb_plan.py WORKDIR [--out FILE]

WORKDIR is one kept by ``bench_search.py --workdir`` (its ``ws/`` holds 1M embeddings and the
index). After 200 warm-up queries: LanceDB's ``analyze_plan`` of the default top-10 search
(nprobes 4, refine 10) and of a one-row B-tree lookup, each plan node with its elapsed time (median of 21);
the wall time of the same calls through the synchronous and the asynchronous table (p50 of
100); and, for the filtered search's first step, the nearest 1,875 rows by their codes with
their image and region ids against their row ids alone. Prints JSON and writes ``--out``
(default benchmarks/results/lancedb_plan.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
from lancedb.background_loop import LOOP

RESULTS = Path(__file__).resolve().parent / "results" / "lancedb_plan.json"
NODE = re.compile(r"^\s*(\w+)[:,]\s.*?elapsed=([\d.]+)(ms|µs|s)")


def nodes(plan: str) -> list[dict[str, Any]]:
    """Each plan line's node name and elapsed ms, outermost first."""
    found = []
    for line in plan.splitlines():
        match = NODE.match(line)
        if match:
            value = float(match.group(2)) * {"ms": 1.0, "µs": 1e-3, "s": 1e3}[match.group(3)]
            projection = re.search(r"projection=\[([^\]]*)\]", line)
            found.append(
                {"node": match.group(1), "ms": round(value, 3), **({"reads": projection.group(1)} if projection else {})}
            )
    return found


def median_plan(plans: list[str]) -> list[dict[str, Any]]:
    """`nodes` of several runs of one plan, each node's elapsed the median over the runs."""
    runs = [nodes(plan) for plan in plans]
    return [{**first, "ms": round(statistics.median(run[i]["ms"] for run in runs), 3)} for i, first in enumerate(runs[0])]


def p50_ms(run, queries) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    database = str(args.workdir / "ws" / "db")
    table = lancedb.connect(database).open_table("embeddings")
    images = lancedb.connect(database).open_table("images")

    async def open_async():
        return await (await lancedb.connect_async(database)).open_table("embeddings")

    fast = LOOP.run(open_async())
    queries = np.random.default_rng(0).standard_normal((400, 512)).astype(np.float32)

    def sync_search(q):
        return table.search(q, vector_column_name="vector").distance_type("cosine").select(["image_id", "region_id", "_distance"])

    def async_search(q):
        return fast.query().nearest_to(q).distance_type("cosine").select(["image_id", "region_id", "_distance"])

    for q in queries[:200]:
        sync_search(q).nprobes(4).refine_factor(10).limit(10).to_arrow()
        LOOP.run(async_search(q).nprobes(4).refine_factor(10).limit(10).to_arrow())
        images.search().where(f"image_id = {int(abs(q[0]) * 1000)}").select(["file_name"]).to_arrow()
    later = queries[200:300]
    result: dict[str, Any] = {"workdir": str(args.workdir), "load_average_at_start": os.getloadavg()}
    result["top10_plan_median_of_21"] = median_plan(
        [sync_search(q).nprobes(4).refine_factor(10).limit(10).analyze_plan() for q in queries[300:321]]
    )
    result["btree_lookup_plan_median_of_21"] = median_plan(
        [images.search().where(f"image_id = {i}").select(["file_name"]).analyze_plan() for i in range(21)]
    )
    result["wall_p50_ms"] = {
        "top10_synchronous_table": p50_ms(lambda q: sync_search(q).nprobes(4).refine_factor(10).limit(10).to_arrow(), later),
        "top10_asynchronous_table": p50_ms(
            lambda q: LOOP.run(async_search(q).nprobes(4).refine_factor(10).limit(10).to_arrow()), later
        ),
        "btree_lookup_synchronous_table": p50_ms(
            lambda q: images.search().where(f"image_id = {int(abs(q[0]) * 1000)}").select(["file_name"]).to_arrow(), later
        ),
        "1875_coded_rows_with_ids": p50_ms(
            lambda q: LOOP.run(async_search(q).nprobes(4).with_row_id().limit(1875).to_arrow()), later
        ),
        "1875_coded_rows_row_ids_only": p50_ms(
            lambda q: LOOP.run(
                fast.query()
                .nearest_to(q)
                .distance_type("cosine")
                .select(["_distance"])
                .nprobes(4)
                .with_row_id()
                .limit(1875)
                .to_arrow()
            ),
            later,
        ),
    }
    result["load_average_at_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
