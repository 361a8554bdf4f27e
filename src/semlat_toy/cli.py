"""The toy world's commands, added to `semlat` through the ``semlat.cli`` entry point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from semlat.cli.options import MINUTES, SCENES, SEED, STEPS, VIEWS, Device, bounded, parse_seeds
from semlat.errors import SemlatError
from semlat.files import check_output_dir
from semlat_toy.scene import WORLDS, World

out = Console()
OBJECTS = bounded(0, 1000)
"""Extra objects of a rendered scene (duplicates, clutter)."""


def world_options(name: str, **overrides) -> World:
    """The named world (`WORLDS`) with the options given (None: the world's own)."""
    if name not in WORLDS:
        raise SemlatError(f"unknown world {name!r}: use {', '.join(WORLDS)}")
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(WORLDS[name], **given)


def register(app: typer.Typer) -> None:
    """Add `semlat toyworld render|train`, `semlat eval` and `semlat demo` to ``app``."""
    toyworld_app = typer.Typer(no_args_is_help=True, help="The synthetic ground-truth world: render scenes, train its CLIP.")
    app.add_typer(toyworld_app, name="toyworld")

    @toyworld_app.command("train")
    def toyworld_train(
        output: Annotated[Path, typer.Option("--output", "-o", help="Weights file to write (.pt).")],
        minutes: Annotated[float, typer.Option(help="Wall-clock budget for rendering and training.", callback=MINUTES)] = 20.0,
        seed: Annotated[int, typer.Option(help="Training seed.", callback=SEED)] = 0,
        scenes: Annotated[Optional[int], typer.Option(help="Training scenes \\[default: 150].", callback=SCENES)] = None,
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
        world: Annotated[str, typer.Option(help="default, or hard (duplicates, textures, clutter).")] = "default",
        duplicates: Annotated[
            Optional[int],
            typer.Option(help="Extra instances of classes in the scene \\[default: the world's].", callback=OBJECTS),
        ] = None,
        textures: Annotated[
            Optional[bool], typer.Option("--textures/--flat", help="Procedural textures \\[default: the world's].")
        ] = None,
        clutter: Annotated[
            Optional[int], typer.Option(help="Small clutter objects \\[default: the world's].", callback=OBJECTS)
        ] = None,
    ) -> None:
        """Render one scene: images, per-pixel ground truth and a COLMAP text model with SfM points."""
        from semlat_toy import write_scene

        chosen = world_options(world, duplicates=duplicates, textures=textures, clutter=clutter)
        check_output_dir(output)
        out.print(f"scene {seed} in {write_scene(output, seed, n_views=views, world=chosen)}")

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
        model: Annotated[Optional[str], typer.Option(help="OpenCLIP model \\[default: the shipped toy CLIP].")] = None,
        pretrained: Annotated[Optional[str], typer.Option(help="Its weights.")] = None,
        part: Annotated[
            str,
            typer.Option(
                help="semantics (prompts, eval.json), instances (cross-view instances per world, method and masks, "
                "instances.json) or all."
            ),
        ] = "all",
        worlds: Annotated[str, typer.Option(help="Worlds of the instance part, comma-separated.")] = "default,hard",
        device: Device = "auto",
    ) -> None:
        """Measure every configuration against the toy world's ground truth (mIoU, cross-view instances)."""
        from semlat.encoders import TOY_MODEL, model_spec
        from semlat_toy.evaluate import evaluate as run_eval
        from semlat_toy.evaluate import markdown_table
        from semlat_toy.instances import evaluate_instances, instances_markdown

        if part not in ("all", "semantics", "instances"):
            raise SemlatError(f"unknown --part {part!r}: use all, semantics or instances")
        spec = model_spec(model or TOY_MODEL, pretrained)
        chosen = parse_seeds(seeds)
        check_output_dir(output)
        if part in ("all", "semantics"):
            out.print(markdown_table(run_eval(chosen, spec, output, views, masks, device)))
        if part in ("all", "instances"):
            names = [w.strip() for w in worlds.split(",") if w.strip()]
            summary = evaluate_instances(chosen, spec, output, views, names, masks, device=device)
            out.print(instances_markdown(summary))

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
        out.print(f"look at it in a browser: semlat serve -w {result.workspace} --report {result.report.parent}", soft_wrap=True)
