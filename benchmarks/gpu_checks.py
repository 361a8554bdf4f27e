"""CUDA paths against the CPU: same answers, and how much faster (run on a machine with a GPU).

Checks what runs on the GPU without a workspace: the CLIP towers under autocast (toy CLIP and a
ViT-B-16 with random weights), region views, MobileSAM's encoder and decoder, and the PCA/KMeans
of clustered mode. Prints one JSON object (also written to ``--out``).

    python benchmarks/gpu_checks.py --out benchmarks/results/gpu_checks.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semlat.encoders import ModelSpec, load_encoder, region_view, toy_model_spec
from semlat.regions import clustering
from semlat.types import Region
from semlat_toy import make_scene, orbit_cameras, render_view

DEVICE = "cuda"
"""Compared with the CPU (``--device cpu`` runs the script without a GPU, comparing CPU to itself)."""


def timed(run: Callable[[], Any], repeats: int, device: torch.device) -> tuple[Any, float]:
    """Result of ``run`` and its median wall time in ms (after one warm-up)."""
    result = run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return result, round(float(np.median(times)), 3)


def clip_check(spec: ModelSpec, batch: int) -> dict[str, Any]:
    cpu, gpu = load_encoder(spec, "cpu"), load_encoder(spec, DEVICE)
    images = torch.rand(batch, 3, cpu.image_size, cpu.image_size, generator=torch.Generator().manual_seed(0))
    texts = ["a red sphere", "floor", "a photo of a blue cube", "wall"]
    f_cpu, t_cpu = timed(lambda: cpu.encode_images(images), 3, torch.device("cpu"))
    f_gpu, t_gpu = timed(lambda: gpu.encode_images(images), 10, torch.device(DEVICE))
    w_cpu, w_gpu = cpu.encode_texts(texts), gpu.encode_texts(texts)
    return {
        "model": spec.key(),
        "batch": batch,
        "image_cosine_cpu_vs_cuda_min": round(float((f_cpu * f_gpu).sum(1).min()), 5),
        "text_cosine_cpu_vs_cuda_min": round(float((w_cpu * w_gpu).sum(1).min()), 5),
        "ranking_agrees": bool(((f_cpu @ w_cpu.T).argmax(1) == (f_gpu @ w_gpu.T).argmax(1)).mean() >= 0.95),
        "cpu_ms": t_cpu,
        "cuda_ms": t_gpu,
    }


def random_checkpoint(name: str) -> ModelSpec:
    """A randomly initialised OpenCLIP ``name`` saved as a checkpoint (no weights can be downloaded here)."""
    import open_clip

    path = Path("/tmp") / f"semlat-random-{name}.pt"
    torch.manual_seed(0)
    torch.save(open_clip.create_model(name).state_dict(), path)
    return ModelSpec(name, str(path))


def region_view_check() -> dict[str, Any]:
    scene = make_scene(0)
    view = render_view(scene, orbit_cameras(1)[0])
    image = torch.from_numpy(view.image).permute(2, 0, 1).float() / 255
    ids = [i for i in np.unique(view.instance) if (view.instance == i).sum() > 100]
    worst = 0.0
    for instance in ids:
        mask = view.instance == instance
        region = Region.from_mask(0, mask)
        for strategy in ("masked-crop", "crop", "masked-full"):
            a = region_view(image, torch.from_numpy(mask), region, strategy, 224)
            b = region_view(image.to(DEVICE), torch.from_numpy(mask).to(DEVICE), region, strategy, 224).cpu()
            worst = max(worst, float((a - b).abs().max()))
    return {"regions": len(ids), "max_abs_diff_cpu_vs_cuda": worst}


def sam_check() -> dict[str, Any]:
    from semlat.regions.sam import SamSpec, load_sam

    spec = SamSpec.resolve("mobile-sam")
    scene = make_scene(1)
    image = render_view(scene, orbit_cameras(1, width=640, height=480)[0]).image
    cpu, gpu = load_sam(spec, "cpu"), load_sam(spec, DEVICE)
    e_cpu, t_cpu = timed(lambda: cpu.encode(image), 2, torch.device("cpu"))
    e_gpu, t_gpu = timed(lambda: gpu.encode(image), 10, torch.device(DEVICE))
    points = np.array([[[300.0, 400.0]], [[600.0, 500.0]], [[100.0, 100.0]]], np.float32)
    labels = np.ones((3, 1), np.int32)
    (l_cpu, iou_cpu), d_cpu = timed(lambda: cpu.decode(e_cpu.latent, points, labels), 3, torch.device("cpu"))
    (l_gpu, iou_gpu), d_gpu = timed(lambda: gpu.decode(e_cpu.latent, points, labels), 10, torch.device(DEVICE))
    m_cpu, m_gpu = l_cpu > 0, l_gpu > 0
    mask_iou = (m_cpu & m_gpu).sum((2, 3)) / np.maximum((m_cpu | m_gpu).sum((2, 3)), 1)
    latent_cos = float((e_cpu.latent * e_gpu.latent).sum() / np.linalg.norm(e_cpu.latent) / np.linalg.norm(e_gpu.latent))
    return {
        "image": "640x480",
        "latent_cosine_cpu_vs_cuda": round(latent_cos, 5),
        "decoded_mask_iou_cpu_vs_cuda_min": round(float(mask_iou.min()), 4),
        "predicted_iou_max_abs_diff": round(float(np.abs(iou_cpu - iou_gpu).max()), 4),
        "encode_cpu_ms": t_cpu,
        "encode_cuda_ms": t_gpu,
        "decode_3_prompts_cpu_ms": d_cpu,
        "decode_3_prompts_cuda_ms": d_gpu,
    }


def clustering_check() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 256)).astype(np.float32) * 4
    points = np.concatenate([c + rng.normal(size=(800, 256)).astype(np.float32) for c in centres])
    truth = np.repeat(np.arange(5), 800)
    from sklearn.metrics import adjusted_rand_score

    reduced_cpu = clustering.pca(points, 20, None)
    reduced_gpu = clustering.pca(points, 20, torch.device(DEVICE))
    labels_cpu, _ = clustering.kmeans(reduced_cpu, 5, device=None)
    labels_gpu, _ = clustering.kmeans(reduced_gpu, 5, device=torch.device(DEVICE))
    return {
        "points": len(points),
        "ari_cpu": round(float(adjusted_rand_score(truth, labels_cpu)), 4),
        "ari_cuda": round(float(adjusted_rand_score(truth, labels_gpu)), 4),
        "ari_cpu_vs_cuda": round(float(adjusted_rand_score(labels_cpu, labels_gpu)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: run this on a machine with one")
    report: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else None,
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    checks = {
        "toy_clip": lambda: clip_check(toy_model_spec(), 256),
        "vit_b_16_random_weights": lambda: clip_check(random_checkpoint("ViT-B-16"), 64),
        "region_views": region_view_check,
        "mobile_sam": sam_check,
        "clustering": clustering_check,
    }
    for name, check in checks.items():
        try:
            report[name] = check()
        except Exception as exc:  # report every check, even after one fails
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(name, json.dumps(report[name]), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
