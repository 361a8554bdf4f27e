"""`semlat embed`: the model options reach the stage; a model that cannot load is one line and exit 2."""

from __future__ import annotations

import pytest

from semlat.encoders import DEFAULT_MODEL, DEFAULT_PRETRAINED, ModelSpec, toy_model_spec
from semlat.workspace import Workspace


def test_embed_writes_the_features_it_prints(cli, tmp_path, images_dir, tiny_checkpoint):
    ws = tmp_path / "ws"
    assert cli("masks", images_dir, "-w", ws, "--backend", "classical", "--max-regions", "2")[0] == 0
    args = ["--model", "semlat-tiny", "--pretrained", tiny_checkpoint, "--device", "cpu", "--features", "mine"]
    code, out, err = cli("embed", "-w", ws, *args, "--strategy", "crop", "--batch-size", "2")
    assert code == 0, err
    (key,) = Workspace.open(ws).feature_keys()
    assert key.feature_set == "mine" and key.model_key == ModelSpec("semlat-tiny", str(tiny_checkpoint)).key()
    assert f"features {key} in {ws}" in out.replace("\n", "")
    assert Workspace.open(ws).manifest.feature_sets[str(key)]["strategy"] == "crop"


@pytest.mark.parametrize(
    ("args", "spec"),
    [
        ([], ModelSpec(DEFAULT_MODEL, DEFAULT_PRETRAINED)),
        (["--pretrained", "openai"], ModelSpec(DEFAULT_MODEL, "openai")),
        (["--model", "semlat-toy"], toy_model_spec()),
        (["--model", "ViT-B-32", "--pretrained", "w.pt"], ModelSpec("ViT-B-32", "w.pt")),
    ],
    ids=["defaults", "a tag for the default model", "the toy model's shipped weights", "both given"],
)
def test_model_options_make_the_model_spec(cli, tmp_path, run_workspace, monkeypatch, args, spec):
    from semlat.stages import embed

    calls = []
    monkeypatch.setattr(embed, "embed_regions", lambda ws, **options: calls.append(options) or "key")
    code, _, err = cli("embed", "-w", run_workspace, *args)
    assert code == 0, err
    expected = {
        "model": spec,
        "strategy": "masked-crop",
        "region_set": None,
        "feature_set": "raw",
        "device": "auto",
        "batch_size": 64,
    }
    assert calls == [{**expected, "runner": None}]  # no --ray: the stage's own loop


# case: (arguments from the photos folder and the checkpoint, what the error line names); on an existing workspace
BAD_INPUTS = {
    "unknown model name": (lambda d, c: ["embed", "--model", "ViT-Nope", "--pretrained", str(c)], "unknown model"),
    "missing checkpoint": (
        lambda d, c: ["embed", "--model", "semlat-tiny", "--pretrained", str(d / "none.pt")],
        "does not exist",
    ),
    "unknown pretrained tag": (lambda d, c: ["embed", "--model", "semlat-tiny", "--pretrained", "laion"], "no pretrained tag"),
    "unknown device": (
        lambda d, c: ["embed", "--model", "semlat-tiny", "--pretrained", str(c), "--device", "tpu"],
        "unknown device",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_leaves_the_workspace(case, assert_refused, images_dir, tiny_checkpoint):
    make_args, message = BAD_INPUTS[case]
    assert_refused(make_args(images_dir, tiny_checkpoint), (message,), existing=True)
