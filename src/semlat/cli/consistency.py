"""Consistency: `semlat metrics`, `smooth` and `refine`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from semlat.cli.app import app, out
from semlat.cli.options import COSINE, FINITE, FRACTION, POSITIVE, Features, Output, RegionSet, Workspace_, open_features


@app.command()
def metrics(
    workspace: Workspace_,
    output: Output,
    features: Features = None,
    region_set: RegionSet = None,
    hints: Annotated[bool, typer.Option(help="Draw a sheet of example regions per label (reads the images).")] = True,
) -> None:
    """Semantic consistency of cross-view labels: metrics.json, plots and a self-contained report.html."""
    from semlat.stages.consistency import compute_metrics, write_report

    ws, key = open_features(workspace, region_set, features)
    result = compute_metrics(ws, key=key)
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
    method: Annotated[
        str, typer.Option(help="prototype (label's trimmed-mean prototype) or knn (k nearest same-label regions in other views).")
    ] = "prototype",
    alpha: Annotated[
        float, typer.Option(help="Weight of the consensus: 0 keeps the features, 1 replaces them.", callback=FRACTION)
    ] = 0.5,
    k: Annotated[int, typer.Option("--k", help="Neighbours for knn.", callback=POSITIVE)] = 5,
    keep_outliers: Annotated[
        bool, typer.Option(help="Regions outside their label's trimmed mean (likely mislabelled) keep their feature.")
    ] = True,
    features: Features = None,
    region_set: RegionSet = None,
    out_features: Annotated[str, typer.Option("--out-features", help="Name of the new feature set.")] = "smoothed",
) -> None:
    """Smooth region features across views into a new feature set (the source stays)."""
    from semlat.stages.consistency import smooth_features

    ws, key = open_features(workspace, region_set, features)
    new = smooth_features(ws, key=key, method=method, alpha=alpha, k=k, keep_outliers=keep_outliers, out_feature_set=out_features)
    out.print(f"features {new} in {workspace}")


@app.command()
def refine(
    workspace: Workspace_,
    delete_k: Annotated[
        float, typer.Option(help="Delete labels whose overall similarity is above mean + k·std over labels.", callback=FINITE)
    ] = 1.0,
    merge_threshold: Annotated[
        float, typer.Option(help="Merge labels whose centred-prototype cosine is above this.", callback=COSINE)
    ] = 0.6,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print what would change.")] = False,
    features: Features = None,
    region_set: RegionSet = None,
    out_region_set: Annotated[Optional[str], typer.Option(help="Name of the new region set (default: <old>-refined).")] = None,
) -> None:
    """Merge & delete noisy labels (the original's rule) into a new region set; the old one stays."""
    from semlat.stages.consistency import refine_labels

    ws, key = open_features(workspace, region_set, features)
    plan = refine_labels(
        ws, key=key, delete_k=delete_k, merge_threshold=merge_threshold, dry_run=dry_run, out_region_set=out_region_set
    )
    for line in plan.describe():
        out.print(line, highlight=False)
    if dry_run:
        out.print(f"dry run: nothing written (would write region set {plan.out_region_set})")
    else:
        out.print(f"region set {plan.out_region_set} in {workspace}; features: {', '.join(plan.carried) or 'none'}")
