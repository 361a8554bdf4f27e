"""The toy world's commands, added to `semlat` through the ``semlat.cli`` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from semlat.cli.options import MINUTES, SCENES, SEED, STEPS, VIEWS, Device, parse_seeds

out = Console()


def register(app: typer.Typer) -> None:
    """Add `semlat toyworld render|train`, `semlat eval` and `semlat demo` to ``app``."""
    toyworld_app = typer.Typer(no_args_is_help=True, help="The synthetic ground-truth world: render scenes, train its CLIP.")
    app.add_typer(toyworld_app, name="toyworld")

    @toyworld_app.command("train")
    def toyworld_train(
        output: Annotated[Path, typer.Option("--output", "-o", help="Weights file to write (.pt).")],
        minutes: Annotated[float, typer.Option(help="Wall-clock budget for rendering and training.", callback=MINUTES)] = 20.0,
        seed: Annotated[int, typer.Option(help="Training seed.", callback=SEED)] = 0,
        scenes: Annotated[Optional[int], typer.Option(help="Training scenes [default: 150].", callback=SCENES)] = None,
        steps: Annotated[
            Optional[int], typer.Option(help="Optimiser steps (default: fitted to the budget).", callback=STEPS)
        ] = None,
        init_from: Annotated[Optional[Path], typer.Option(help="Continue from these weights.")] = None,
        device: Annotated[
            str, typer.Option(help="Where the model trains: cpu (the shipped weights' recipe), cuda, auto.")
        ] = "cpu",
    ) -> None:
        """Train the small CLIP on rendered toy scenes, then report held-out zero-shot accuracy."""
        import json

        from semlat_toy.train import TrainConfig, evaluate_zero_shot, train_toy_clip

        weights = train_toy_clip(
            output,
            minutes_budget=minutes,
            seed=seed,
            n_scenes=scenes,
            steps=steps,
            init_from=init_from,
            log_path=output.with_suffix(".json"),
            config=TrainConfig(device=device),
        )
        out.print(json.dumps(evaluate_zero_shot(weights, device=device), indent=2))

    @toyworld_app.command("render")
    def toyworld_render(
        output: Annotated[Path, typer.Option("--output", "-o", help="Scene folder to write.")],
        seed: Annotated[int, typer.Option(help="Scene seed.", callback=SEED)] = 0,
        views: Annotated[int, typer.Option(help="Number of views around the scene.", callback=VIEWS)] = 12,
    ) -> None:
        """Render one scene: images, per-pixel ground truth and a COLMAP text model."""
        from semlat_toy import write_scene

        out.print(f"scene {seed} in {write_scene(output, seed, n_views=views)}")

    @app.command("eval")
    def evaluate(
        seeds: Annotated[str, typer.Option(help="Scene seeds, e.g. 0..3 or 1,4,9.")] = "0..3",
        output: Annotated[Path, typer.Option("--output", "-o", help="Folder for eval.json and eval.md.")] = Path(
            "benchmarks/results"
        ),
        views: Annotated[int, typer.Option(help="Views per scene.", callback=VIEWS)] = 12,
        masks: Annotated[
            Optional[list[str]], typer.Option(help="Mask sources (repeatable; default: every installed one and ground-truth).")
        ] = None,
        model: Annotated[Optional[str], typer.Option(help="OpenCLIP model [default: the shipped toy CLIP].")] = None,
        pretrained: Annotated[Optional[str], typer.Option(help="Its weights.")] = None,
        device: Device = "auto",
    ) -> None:
        """Measure every configuration against the toy world's ground truth (mIoU, cross-view ARI)."""
        from semlat.encoders import TOY_MODEL, model_spec
        from semlat_toy.evaluate import evaluate as run_eval
        from semlat_toy.evaluate import markdown_table

        spec = model_spec(model or TOY_MODEL, pretrained)
        summary = run_eval(parse_seeds(seeds), spec, output, views, masks, device)
        out.print(markdown_table(summary))

    @app.command()
    def demo(
        output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the scene, workspace and results.")] = Path(
            "semlat-demo"
        ),
        device: Device = "auto",
    ) -> None:
        """Render a toy scene and run the whole pipeline on it, offline (the shipped toy CLIP)."""
        from semlat_toy.demo import run_demo

        result = run_demo(output, device=device)
        out.print(f"scene ({len(result.prompts)} prompts, {result.backend} regions): {result.scene / 'images'}")
        out.print(f"heatmaps and segmentations: {result.queries}/<view>/")
        out.print(f"consistency report: {result.report}")
