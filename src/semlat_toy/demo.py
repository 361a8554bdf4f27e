"""`semlat demo`: the whole pipeline on a freshly rendered toy scene, offline, with the shipped toy CLIP.

`run_demo` writes into one folder:

- ``scene/``: a toy-world scene (seed `DEMO_SEED`, outside the toy CLIP's training seeds) in the
  layout of a photo capture (`semlat_toy.io`);
- ``workspace/``: its regions (`demo_backend`), their toy-CLIP embeddings (masked crops) and
  their cross-view labels (clustered CLIP features);
- ``queries/<view>/``: a heatmap per prompt (every object class in the scene, "floor", "wall")
  and the argmax ``segmentation.png``;
- ``metrics/``: the consistency report (``report.html``, ``metrics.json``, plots).

The regions come from the backend that measures best on the toy world; `semlat eval` measures
every backend, and its numbers are in ``benchmarks/results/eval.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from semlat.device import resolve_device
from semlat.encoders import toy_model_spec
from semlat.files import check_output_dir
from semlat.stages.consistency import compute_metrics, write_report
from semlat.stages.embed import embed_regions
from semlat.stages.label import label_regions
from semlat.stages.masks import default_backend, propose_regions
from semlat.stages.query import query_to_files
from semlat.workspace import Workspace
from semlat_toy.io import read_ground_truth, write_scene
from semlat_toy.scene import OBJECT_ID_START

DEMO_SEED = 7
"""A scene outside the toy CLIP's training seeds."""

DEMO_BACKENDS = ("mobile-sam", "classical")
"""Region backends, best first on the toy world (benchmarks/results/eval_defaults.md, masked-crop +
sum, seeds 0-1, 6 views: MobileSAM automatic at its defaults 0.943 mIoU, classical 0.839); the demo
takes the first installed."""


def demo_backend() -> str:
    """The best region backend installed (`DEMO_BACKENDS`)."""
    installed = {"classical", default_backend()}
    return next(backend for backend in DEMO_BACKENDS if backend in installed)


@dataclass(frozen=True)
class DemoResult:
    """Where `run_demo` wrote the scene, the workspace, the query pictures and the report, and what it ran."""

    scene: Path
    workspace: Path
    queries: Path
    report: Path
    backend: str
    prompts: list[str]


def run_demo(
    out_dir: str | Path = "semlat-demo", seed: int = DEMO_SEED, n_views: int = 8, device: str | None = None
) -> DemoResult:
    """Render scene ``seed`` and run masks → embed → labels → query → metrics into ``out_dir``."""
    out = check_output_dir(out_dir)  # with the device, checked before the scene is written
    resolve_device(device)
    scene = write_scene(out / "scene", seed, n_views=n_views)
    classes = read_ground_truth(scene).classes
    prompts = sorted(name for i, name in classes.items() if i >= OBJECT_ID_START) + ["floor", "wall"]
    workspace = out / "workspace"
    backend = demo_backend()
    ws = Workspace.open_or_create(workspace)
    propose_regions(ws, scene / "images", backend=backend)
    key = embed_regions(ws, model=toy_model_spec(), strategy="masked-crop", region_set=backend, device=device)
    if not ws.has_labels(backend):
        label_regions(ws, backend, descriptor="clip", device=device)
    queries = query_to_files(ws, prompts, out / "queries", key=key, device=device)
    report = write_report(compute_metrics(ws, key=key), out / "metrics")
    return DemoResult(scene, workspace, queries, report, backend, prompts)
