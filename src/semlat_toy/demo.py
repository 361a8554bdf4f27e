"""`semlat demo`: the whole pipeline on a freshly rendered scene, offline, in a few minutes.

Renders a toy-world scene the shipped CLIP never saw, proposes regions, gives them cross-view
labels, embeds them with the toy CLIP, answers the scene's class prompts and writes the
consistency report — everything a user would look at on real photos.

Regions come from the backend that measures best on the toy world (`semlat eval`, committed in
benchmarks/results/eval.md): the classical one (mIoU 0.82 over seeds 0..3). MobileSAM's
clustered mode (the original's algorithm) reaches only 0.22 there: its five latent clusters per
batch of views group several objects into one prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from semlat.encoders.openclip import toy_model_spec
from semlat.stages.consistency.metrics import compute_metrics
from semlat.stages.consistency.report import write_report
from semlat.stages.embed import embed_regions
from semlat.stages.label import label_regions
from semlat.stages.masks import propose_regions
from semlat.stages.query.stage import query_to_files
from semlat.workspace import Workspace
from semlat_toy.io import read_ground_truth, write_scene
from semlat_toy.scene import OBJECT_ID_START

DEMO_SEED = 7
"""A scene outside the toy CLIP's training seeds."""

DEMO_BACKEND = "classical"


@dataclass(frozen=True)
class DemoResult:
    scene: Path
    workspace: Path
    queries: Path
    report: Path
    backend: str
    prompts: list[str]


def run_demo(
    out_dir: str | Path = "semlat-demo", seed: int = DEMO_SEED, n_views: int = 8, device: str | None = None
) -> DemoResult:
    """Render scene ``seed`` and run masks → labels → embed → query → metrics into ``out_dir``."""
    out = Path(out_dir)
    scene = write_scene(out / "scene", seed, n_views=n_views)
    classes = read_ground_truth(scene).classes
    prompts = sorted(name for i, name in classes.items() if i >= OBJECT_ID_START) + ["floor", "wall"]
    workspace = out / "workspace"
    backend = DEMO_BACKEND
    propose_regions(Workspace.open_or_create(workspace), scene / "images", backend=backend)
    key = embed_regions(workspace, toy_model_spec(), "masked-crop", backend, device=device)
    if not Workspace.open(workspace).has_labels(backend):
        label_regions(workspace, backend, descriptor="clip", device=device)
    queries = query_to_files(workspace, prompts, out / "queries", key, device=device)
    report = write_report(compute_metrics(workspace, key), out / "metrics")
    return DemoResult(scene, workspace, queries, report, backend, prompts)
