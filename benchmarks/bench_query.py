"""Query fast path benchmark: time and peak memory of `score_maps`, and the original's dense way.

Case A: 1000×750 image, 40 blob-shaped regions, 10 prompts, D=512 (targets: < 50 ms, < 200 MB).
Case B: 320×240, 20 regions, 5 prompts: fast path against the original's K×H×W×C algorithm,
re-implemented in numpy float32 (target: ≥ 500× faster); the two outputs must agree.

Memory is measured two ways, both around one call: the tracemalloc peak (numpy reports its
buffers to tracemalloc) and the growth of the process's peak RSS (VmHWM from /proc, reset
through /proc/self/clear_refs just before the call; not available everywhere).

Run: python benchmarks/bench_query.py   (prints JSON, writes benchmarks/results/query.json)
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from semlat.rle import encode
from semlat.scoring.fusion import FUSIONS, SCORES, score_maps

RESULTS = Path(__file__).parent / "results" / "query.json"
MIB = 1024 * 1024


def unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def blob_masks(height: int, width: int, count: int, seed: int) -> npt.NDArray[np.bool_]:
    """Ellipses and rectangles of varied size (2%–40% of the image side), overlapping partly."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    masks = np.zeros((count, height, width), dtype=bool)
    for i in range(count):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(0.02, 0.4, 2) * (height, width)
        if rng.random() < 0.6:
            angle = rng.uniform(0, np.pi)
            u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
            v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
            masks[i] = (u / rx) ** 2 + (v / ry) ** 2 < 1
        else:
            masks[i] = (np.abs(yy - cy) < ry) & (np.abs(xx - cx) < rx)
    return masks


def make_case(height: int, width: int, regions: int, prompts: int, dim: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    masks = blob_masks(height, width, regions, seed)
    return {
        "masks": masks,
        "rles": [encode(m) for m in masks],
        "global": unit(rng.normal(size=dim)),
        "regions": unit(rng.normal(size=(regions, dim))),
        "texts": unit(rng.normal(size=(prompts, dim))),
        "canonical": unit(rng.normal(size=(4, dim))),
    }


def fast(case: dict[str, Any], fusion: str = "sum", score: str = "softmax") -> npt.NDArray[np.float32]:
    return score_maps(
        case["rles"],
        case["global"],
        case["regions"],
        case["texts"],
        fusion=fusion,
        score=score,
        canonical_features=case["canonical"],
    )


def dense_original(case: dict[str, Any]) -> npt.NDArray[np.float32]:
    """The original algorithm: a (K, H, W, C) tensor of weighted features, summed over K."""
    weights = (0.8 * case["masks"]).astype(np.float32)[..., None]  # (K, H, W, 1)
    features = case["regions"][:, None, None, :]  # (K, 1, 1, C)
    fused = (weights * features).sum(axis=0) + case["global"]  # (H, W, C)
    fused /= np.linalg.norm(fused, axis=-1, keepdims=True)
    logits = 100.0 * fused @ case["texts"].T  # (H, W, P)
    logits -= logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs.transpose(2, 0, 1)


def timings(call: Callable[[], object], runs: int, warmup: int = 2) -> dict[str, float]:
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    return {
        "median_ms": 1e3 * statistics.median(seconds),
        "p95_ms": 1e3 * seconds[min(len(seconds) - 1, int(np.ceil(0.95 * len(seconds))) - 1)],
        "min_ms": 1e3 * seconds[0],
        "runs": runs,
    }


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _release_free_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so a reused free pool does not hide growth."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_memory(call: Callable[[], object]) -> dict[str, float | None]:
    """tracemalloc peak of one call, and how far it pushed the process's peak RSS."""
    gc.collect()
    tracemalloc.start()
    call()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    _release_free_heap()
    rss_delta = None
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
        call()
        after = _status_kib("VmHWM")
        if before is not None and after is not None:
            rss_delta = (after - before) / 1024
    except OSError:
        pass
    return {"tracemalloc_peak_mib": traced_peak / MIB, "rss_peak_delta_mib": rss_delta}


def main() -> None:
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
        },
        "memory_method": (
            "tracemalloc peak (numpy buffers) of one call; and VmHWM - VmRSS around a second call, after "
            "malloc_trim(0) and resetting VmHWM via /proc/self/clear_refs"
        ),
    }

    case_a = make_case(750, 1000, 40, 10, 512, seed=0)
    report["case_a"] = {
        "size": "1000x750 (W x H)",
        "regions": 40,
        "prompts": 10,
        "dim": 512,
        "fusion": "sum",
        "score": "softmax",
        **timings(lambda: fast(case_a), runs=21),
        **peak_memory(lambda: fast(case_a)),
    }
    report["case_a_variants_median_ms"] = {
        f"{fusion}/{score}": timings(lambda f=fusion, s=score: fast(case_a, f, s), runs=11)["median_ms"]
        for fusion in FUSIONS
        for score in SCORES
    }

    case_b = make_case(240, 320, 20, 5, 512, seed=1)
    fast_b = timings(lambda: fast(case_b), runs=21)
    dense_b = timings(lambda: dense_original(case_b), runs=3, warmup=0)
    diff = float(np.abs(fast(case_b) - dense_original(case_b)).max())
    report["case_b"] = {
        "size": "320x240 (W x H)",
        "regions": 20,
        "prompts": 5,
        "dim": 512,
        "fast": {**fast_b, **peak_memory(lambda: fast(case_b))},
        "dense_original_numpy_float32": {**dense_b, **peak_memory(lambda: dense_original(case_b))},
        "speedup_median": dense_b["median_ms"] / fast_b["median_ms"],
        "max_abs_diff": diff,
    }
    a, b = report["case_a"], report["case_b"]
    report["targets"] = {
        "case_a_under_50ms": a["median_ms"] < 50,
        "case_a_under_200mib": a["tracemalloc_peak_mib"] < 200 and (a["rss_peak_delta_mib"] or 0) < 200,
        "case_b_speedup_at_least_500x": b["speedup_median"] >= 500,
        "case_b_outputs_agree_1e-4": diff < 1e-4,
    }
    text = json.dumps(report, indent=2)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
