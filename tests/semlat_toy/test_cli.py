"""The toy world's commands in `semlat`: options reach the Python API, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semlat.encoders import toy_model_spec
from semlat_toy import demo, evaluate, instances, train, write_scene
from tests.conftest import snapshot


def test_render_writes_the_scene_of_the_seed(cli, tmp_path):
    code, out, err = cli("toyworld", "render", "-o", tmp_path / "cli", "--seed", "4", "--views", "2")
    assert code == 0, err
    assert "scene 4" in out
    assert snapshot(tmp_path / "cli") == snapshot(write_scene(tmp_path / "api", 4, n_views=2))


def test_render_takes_a_world_and_its_options(cli, tmp_path):
    from semlat_toy.scene import World

    args = ["--seed", "4", "--views", "2", "--world", "hard", "--clutter", "1", "--flat"]
    code, out, err = cli("toyworld", "render", "-o", tmp_path / "cli", *args)
    assert code == 0, err
    world = World(duplicates=3, textures=False, clutter=1)
    assert snapshot(tmp_path / "cli") == snapshot(write_scene(tmp_path / "api", 4, n_views=2, world=world))
    assert json.loads((tmp_path / "cli" / "gt" / "classes.json").read_text())["world"] == {
        "duplicates": 3,
        "textures": False,
        "clutter": 1,
    }
    code, _, err = cli("toyworld", "render", "-o", tmp_path / "bad", "--world", "harder")
    assert code == 2 and "unknown world 'harder'" in err and not (tmp_path / "bad").exists()


def test_train_passes_its_options_and_prints_the_held_out_accuracy(cli, tmp_path, monkeypatch):
    calls = {}

    def fake_train(output, **options):
        calls["train"] = (output, options)
        return output

    def fake_zero_shot(weights, device):
        calls["zero_shot"] = (weights, device)
        return {"masked-crop": {"accuracy": 0.5, "n": 2}}

    monkeypatch.setattr(train, "train_toy_clip", fake_train)
    monkeypatch.setattr(train, "evaluate_zero_shot", fake_zero_shot)
    weights = tmp_path / "toy.pt"
    code, out, err = cli("toyworld", "train", "-o", weights, "--minutes", "3", "--seed", "2", "--scenes", "5", "--steps", "7")
    assert code == 0, err
    output, options = calls["train"]
    assert output == weights and options["log_path"] == tmp_path / "toy.json"
    assert (options["minutes_budget"], options["seed"], options["n_scenes"], options["steps"]) == (3.0, 2, 5, 7)
    assert options["init_from"] is None and options["config"].device == "cpu"
    assert calls["zero_shot"] == (weights, "cpu")
    assert json.loads(out) == {"masked-crop": {"accuracy": 0.5, "n": 2}}


def test_train_rejects_an_unknown_device_before_rendering(cli, tmp_path):
    code, out, err = cli("toyworld", "train", "-o", tmp_path / "toy.pt", "--device", "tpu")
    assert code == 2 and "unknown device 'tpu'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "toy.pt").exists()


@pytest.fixture
def eval_calls(monkeypatch) -> list[tuple]:
    """Arguments `semlat eval` calls `semlat_toy.evaluate.evaluate` with (which returns a one-row summary)."""
    calls = []
    summary = {"model": "m", "seeds": [0], "views_per_scene": 4, "configs": [{"name": "global-only", "miou": 0.1}]}

    def fake_evaluate(*args):
        calls.append(args)
        return summary

    def fake_instances(*args, **options):
        calls.append(("instances", *args, options))
        return {"model": "m", "seeds": [0], "views_per_scene": 4, "share": 0.8, "mask_settings": {}, "mean": []}

    monkeypatch.setattr(evaluate, "evaluate", fake_evaluate)
    monkeypatch.setattr(instances, "evaluate_instances", fake_instances)
    return calls


def test_eval_measures_the_shipped_model_by_default(cli, tmp_path, eval_calls):
    code, out, err = cli("eval", "--seeds", "0..2", "--views", "4", "--masks", "classical", "-o", tmp_path, "--device", "cpu")
    assert code == 0, err
    spec = toy_model_spec()
    assert eval_calls == [
        ([0, 1, 2], spec, tmp_path, 4, ["classical"], "cpu"),
        ("instances", [0, 1, 2], spec, tmp_path, 4, ["default", "hard"], ["classical"], {"device": "cpu"}),
    ]
    assert "| global-only | 0.100 |" in out and "| world | masks | level | method |" in out


def test_eval_runs_one_part_and_refuses_unknown_parts(cli, tmp_path, eval_calls):
    code, _, err = cli("eval", "--seeds", "1", "--part", "instances", "--worlds", "hard", "-o", tmp_path)
    assert code == 0, err
    assert [call[0] for call in eval_calls] == ["instances"] and eval_calls[0][5] == ["hard"]
    code, _, err = cli("eval", "--part", "everything")
    assert code == 2 and "unknown --part 'everything'" in err


def test_eval_takes_another_model(cli, tmp_path, eval_calls):
    code, _, err = cli("eval", "--seeds", "1", "--model", "ViT-B-32", "--pretrained", "weights.pt", "-o", tmp_path)
    assert code == 0, err
    spec = eval_calls[0][1]
    assert (spec.name, spec.pretrained) == ("ViT-B-32", "weights.pt")


def test_eval_with_unreadable_seeds_is_one_error_line(cli, eval_calls):
    code, _, err = cli("eval", "--seeds", "x")
    assert code == 2 and "cannot read seeds 'x'" in err and len(err.strip().splitlines()) == 1
    assert eval_calls == []


def test_demo_prints_where_its_outputs_are(cli, tmp_path, monkeypatch):
    calls = []

    def fake_demo(output, device):
        calls.append((output, device))
        return demo.DemoResult(
            output / "scene",
            output / "workspace",
            output / "queries",
            output / "metrics" / "report.html",
            "classical",
            ["a", "b"],
        )

    monkeypatch.setattr(demo, "run_demo", fake_demo)
    code, out, err = cli("demo", "-o", tmp_path, "--device", "cpu")
    assert code == 0, err
    assert calls == [(Path(tmp_path), "cpu")]
    assert "2 prompts, classical regions" in out and str(tmp_path / "metrics" / "report.html") in out.replace("\n", "")
    serve = f"semlat serve -w {tmp_path / 'workspace'} --report {tmp_path / 'metrics'}"
    assert serve in out.replace("\n", "")  # the demo ends with the viewer's command
