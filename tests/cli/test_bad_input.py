"""Hostile input across commands, one parametrised test per family: exit code 2, one line, nothing changed.

Families: a pickle payload passed wherever a file of weights or arrays is taken.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import expect_refusal


class Payload:
    """Unpickling this runs code: it creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


def write_payload(path: Path, marker: Path, kind: str) -> Path:
    """A torch.save zip (what an evil ``.pt`` is) or a bare pickle stream."""
    if kind == "torch":
        import torch

        torch.save({"weight": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    return path


FILE_OPTIONS = {
    "masks --checkpoint (mobile-sam)": lambda p, d, ws: ["masks", d, "-w", ws, "--backend", "mobile-sam", "--checkpoint", p],
    "masks --checkpoint (sam)": lambda p, d, ws: [
        "masks",
        *(d, "-w", ws, "--backend", "sam", "--mode", "clustered", "--sam-type", "vit_b", "--checkpoint", p),
    ],
    "label --descriptor sam --checkpoint": lambda p, d, ws: ["label", "-w", ws, "--descriptor", "sam", "--checkpoint", p],
    "embed --pretrained": lambda p, d, ws: ["embed", "-w", ws, "--model", "semlat-tiny", "--pretrained", p, "--device", "cpu"],
    "toyworld train --init-from": lambda p, d, ws: [
        "toyworld",
        *("train", "-o", ws.parent / "toy.pt", "--init-from", p, "--device", "cpu", "--steps", "1", "--scenes", "1"),
    ],
    "import original --masks-npz": lambda p, d, ws: [
        "import",
        *("original", "-w", ws, "--images", d, "--masks-npz", p, "--labels-npz", p),
    ],
}


@pytest.mark.parametrize("kind", ["torch", "pickle"])
@pytest.mark.parametrize("option", list(FILE_OPTIONS))
def test_a_pickle_payload_never_runs(option, kind, cli, tmp_path, images_dir, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    marker = tmp_path / "pwned"
    payload = write_payload(tmp_path / "evil.pt", marker, kind)
    expect_refusal(cli, FILE_OPTIONS[option](payload, images_dir, ws), (str(payload),), tmp_path)
    assert not marker.exists()
