"""Hostile input across commands, one parametrised test per family: exit code 2, one line, nothing changed.

Families: a pickle payload passed wherever a file of weights or arrays is taken; values beyond
the bounds (decompression bombs, prompt counts and lengths, seeds, views, training budgets); a
bad option of a command that writes before it uses it (`run`, `demo`) or an output that cannot be
a folder, refused before the first write.
"""

from __future__ import annotations

import pickle
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from tests.cli.conftest import expect_refusal
from tests.conftest import snapshot


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


def bomb_png(folder: Path, width: int = 20000, height: int = 20000) -> Path:
    """A tiny PNG whose header announces ``width`` x ``height`` pixels (its data would decode to gigabytes)."""
    from PIL import Image

    path = folder / "bomb.png"
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])  # width, height, then depth, colour, ...
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(bytes(data))
    return path


def _prompts_file(ws: Path, content: bytes) -> Path:
    path = ws.parent / "prompts.txt"
    path.write_bytes(content)
    return path


OUT_OF_BOUNDS = {
    "a decompression bomb": (
        lambda d, ws: ["masks", bomb_png(d).parent, "-w", ws, "--backend", "classical"],
        ("bomb.png is 20000x20000 = 400000000 pixels", "limit of 150000000", "--max-pixels 400000000"),
    ),
    "--max-pixels below the photos": (
        lambda d, ws: ["masks", d, "-w", ws, "--backend", "classical", "--max-pixels", "100"],
        ("96x72 = 6912 pixels", "limit of 100"),
    ),
    "--max-pixels 0": (lambda d, ws: ["masks", d, "-w", ws, "--max-pixels", "0"], ("--max-pixels", "0 is not in [1, inf]")),
    "101 prompts": (
        lambda d, ws: ["query", "-w", ws, "-o", ws.parent / "out", "--prompts", ",".join(f"p{i}" for i in range(101))],
        ("101 prompts given, more than 100",),
    ),
    "a 100 KB prompt": (
        lambda d, ws: ["query", "-w", ws, "-o", ws.parent / "out", "--prompts", "x" * 100_000],
        ("a prompt of 100000 characters", "longer than 300"),
    ),
    "a binary prompts file": (
        lambda d, ws: ["query", "-w", ws, "-o", ws.parent / "out", "--prompts-file", _prompts_file(ws, b"\xff\xfe\x00bad")],
        ("is not UTF-8 text",),
    ),
    "a billion seeds": (lambda d, ws: ["eval", "--seeds", "0..1000000000", "-o", ws.parent / "e"], ("1000000001 scenes",)),
    "a negative seed range": (lambda d, ws: ["eval", "--seeds", "-3..2", "-o", ws.parent / "e"], ("-3..2",)),
    "eval --views 0": (lambda d, ws: ["eval", "--views", "0", "-o", ws.parent / "e"], ("--views", "0 is not in [1, 1000]")),
    "render --views 0": (lambda d, ws: ["toyworld", "render", "-o", ws.parent / "s", "--views", "0"], ("--views",)),
    "render --views 100000": (lambda d, ws: ["toyworld", "render", "-o", ws.parent / "s", "--views", "100000"], ("100000",)),
    "render --seed -1": (lambda d, ws: ["toyworld", "render", "-o", ws.parent / "s", "--seed", "-1"], ("--seed", "-1")),
    "train --minutes 0": (lambda d, ws: ["toyworld", "train", "-o", ws.parent / "t.pt", "--minutes", "0"], ("(0, 1440]",)),
    "train --minutes -1": (lambda d, ws: ["toyworld", "train", "-o", ws.parent / "t.pt", "--minutes", "-1"], ("--minutes",)),
    "train --minutes nan": (lambda d, ws: ["toyworld", "train", "-o", ws.parent / "t.pt", "--minutes", "nan"], ("nan",)),
    "train --steps 0": (lambda d, ws: ["toyworld", "train", "-o", ws.parent / "t.pt", "--steps", "0"], ("--steps",)),
    "embed --batch-size 0": (lambda d, ws: ["embed", "-w", ws, "--batch-size", "0"], ("--batch-size",)),
    "refine --delete-k nan": (lambda d, ws: ["refine", "-w", ws, "--delete-k", "nan"], ("--delete-k", "nan")),
    "smooth --alpha 2": (lambda d, ws: ["smooth", "-w", ws, "--alpha", "2"], ("--alpha", "[0, 1]")),
    "index --partitions -1": (lambda d, ws: ["index", "-w", ws, "--partitions", "-1"], ("--partitions",)),
    "search --top 0": (lambda d, ws: ["search", "-w", ws, "a", "--top", "0"], ("--top",)),
    "train --scenes 0": (lambda d, ws: ["toyworld", "train", "-o", ws.parent / "t.pt", "--scenes", "0"], ("--scenes",)),
}


@pytest.mark.parametrize("case", list(OUT_OF_BOUNDS))
def test_values_beyond_the_bounds_are_refused_before_any_work(case, cli, tmp_path, images_dir, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    make_args, messages = OUT_OF_BOUNDS[case]
    args = make_args(images_dir, ws)
    expect_refusal(cli, args, messages, tmp_path)


def _file(ws: Path) -> Path:
    path = ws.parent / "a-file"
    path.write_text("not a folder")
    return path


def _run(d: Path, ws: Path, *extra) -> list:
    return [
        "run",
        d,
        "-w",
        ws,
        "--prompts",
        "a",
        "--backend",
        "classical",
        "--model",
        "semlat-toy",
        "-o",
        ws.parent / "o",
        *extra,
    ]


BEFORE_WORK = {
    "run --fusion": (lambda d, ws: _run(d, ws, "--fusion", "nope"), ("unknown fusion 'nope'",)),
    "run --score": (lambda d, ws: _run(d, ws, "--score", "nope"), ("unknown score 'nope'",)),
    "run --strategy": (lambda d, ws: _run(d, ws, "--strategy", "nope"), ("unknown region strategy 'nope'",)),
    "run --device": (lambda d, ws: _run(d, ws, "--device", "nope"), ("unknown device 'nope'",)),
    "run --pretrained garbage": (lambda d, ws: _run(d, ws, "--pretrained", _file(ws)), ("could not load weights",)),
    "run --pretrained payload": (
        lambda d, ws: _run(d, ws, "--pretrained", write_payload(ws.parent / "evil.pt", ws.parent / "pwned", "torch")),
        ("pickled objects other than tensors",),
    ),
    "run -o a file": (lambda d, ws: [*_run(d, ws), "-o", _file(ws)], ("a-file is a file",)),
    "run -o under a file": (lambda d, ws: [*_run(d, ws), "-o", _file(ws) / "out"], ("which is a file",)),
    "query -o under a file": (
        lambda d, ws: ["query", "-w", ws, "--prompts", "a", "-o", _file(ws) / "out", "--device", "cpu"],
        ("which is a file",),
    ),
    "search -o under a file": (lambda d, ws: ["search", "-w", ws, "a", "-o", _file(ws) / "out"], ("which is a file",)),
    "export -o under a file": (lambda d, ws: ["export", "original", "-w", ws, "-o", _file(ws) / "out"], ("which is a file",)),
    "demo --device": (lambda d, ws: ["demo", "-o", ws.parent / "demo", "--device", "nope"], ("unknown device 'nope'",)),
    "demo -o a file": (lambda d, ws: ["demo", "-o", _file(ws)], ("a-file is a file",)),
}


BEFORE_WORK_CASES = [
    pytest.param(case, existing, id=f"{case} ({'existing' if existing else 'new'} workspace)")
    for case in BEFORE_WORK
    for existing in ([False, True] if case.startswith("run") else [True])
]


@pytest.mark.parametrize(("case", "existing"), BEFORE_WORK_CASES)
def test_options_and_outputs_are_checked_before_the_first_write(case, existing, cli, tmp_path, images_dir, run_workspace):
    ws = tmp_path / "ws"
    if existing:
        shutil.copytree(run_workspace, ws)
    make_args, messages = BEFORE_WORK[case]
    expect_refusal(cli, make_args(images_dir, ws), messages, tmp_path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("command", [["info"], ["search", "a"]])
def test_read_only_commands_create_nothing(command, cli, tmp_path, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    shutil.rmtree(ws / "db")
    before = snapshot(ws)
    cli(*command, "-w", ws)
    assert snapshot(ws) == before and not (ws / "db").exists()
