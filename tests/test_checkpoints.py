"""Reading user-named weights: tensors load, anything that could run code is refused in one line."""

from __future__ import annotations

import pickle

import pytest
import torch

from semlat.checkpoints import load_weights, read_state_dict
from semlat.errors import SemlatError
from tests.cli.test_bad_input import write_payload

HINT = dict(what="test weights", hint="pass the right file")


@pytest.mark.parametrize("kind", ["torch", "pickle"])
def test_a_payload_is_refused_and_never_runs(tmp_path, kind):
    marker = tmp_path / "pwned"
    path = write_payload(tmp_path / "evil.pt", marker, kind)
    with pytest.raises(SemlatError, match="pickled objects other than tensors") as info:
        read_state_dict(path, **HINT)
    assert "\n" not in str(info.value) and not marker.exists()
    if kind == "torch":  # the payload is real: an unsafe load runs it
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())
    assert marker.exists()


def test_fp16_weights_load_into_a_model_built_after_the_check(tmp_path):
    source = torch.nn.Linear(3, 2)
    torch.save({"state_dict": {k: v.half() for k, v in source.state_dict().items()}}, tmp_path / "w.pt")
    model = load_weights(lambda: torch.nn.Linear(3, 2), tmp_path / "w.pt", **HINT)
    assert torch.allclose(model.weight, source.weight.half().float())


def _text(path):
    path.write_text("not weights")


def _tensor(path):
    torch.save(torch.zeros(3), path)


def _empty_dict(path):
    torch.save({}, path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_text, "is not a PyTorch weights file"),
        (_tensor, "holds no state dict of tensors"),
        (_empty_dict, "holds no state dict of tensors"),
        (lambda path: None, "does not exist"),
    ],
)
def test_what_is_not_a_state_dict_is_one_line(tmp_path, make, message):
    make(tmp_path / "w.pt")
    built = []
    with pytest.raises(SemlatError, match=message) as info:
        load_weights(lambda: built.append(1), tmp_path / "w.pt", **HINT)
    assert "\n" not in str(info.value) and "pass the right file" in str(info.value) and not built


def test_another_architecture_is_one_line(tmp_path):
    torch.save(torch.nn.Linear(4, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(SemlatError, match="cannot be loaded into this model") as info:
        load_weights(lambda: torch.nn.Linear(3, 2), tmp_path / "w.pt", **HINT)
    assert "\n" not in str(info.value)
