"""Hostile input across commands, one parametrised test per family: exit code 2, one line, nothing changed.

Families: a pickle payload passed wherever a file of weights or arrays is taken; values beyond
the bounds (decompression bombs, prompt counts and lengths, seeds, views, training budgets, the
generated backend and export options); a bad option or input of a command that writes before it
uses it (`run`, `demo`, a truncated JPEG, another feature size, unlabelled regions) or an output
or workspace path that cannot be a folder, refused before the first write; read-only commands
that change nothing; a damaged workspace (manifest, database folder, tables) named in one line by
every command; a read-only workspace folder; a full disk, after which the same command resumes.
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
    "masks --max-regions -1": (
        lambda d, ws: ["masks", d, "-w", ws, "--max-regions", "-1"],
        ("--max-regions", "-1 is not in [0, inf]"),
    ),
    "masks --max-points -1": (
        lambda d, ws: ["masks", d, "-w", ws, "--mode", "clustered", "--max-points", "-1"],
        ("--max-points", "-1 is not in [0, inf]"),
    ),
    "masks --pred-iou-thresh nan": (lambda d, ws: ["masks", d, "-w", ws, "--pred-iou-thresh", "nan"], ("nan is not in [0, 1]",)),
    "masks --scale 0": (lambda d, ws: ["masks", d, "-w", ws, "--backend", "classical", "--scale", "0"], ("(0, inf]",)),
    "clustered --labels 0 (its own range)": (
        lambda d, ws: ["masks", d, "-w", ws, "--backend", "mobile-sam", "--mode", "clustered", "--labels", "0"],
        ("--labels 0 is not in [1, inf]",),
    ),
    "embed --batch-size -3": (lambda d, ws: ["embed", "-w", ws, "--batch-size", "-3"], ("--batch-size", "-3")),
    "index --partitions 0": (lambda d, ws: ["index", "-w", ws, "--partitions", "0"], ("--partitions", "0 is not in [1, inf]")),
    "render --views -1": (lambda d, ws: ["toyworld", "render", "-o", ws.parent / "s", "--views", "-1"], ("--views", "-1")),
    "render --clutter -2": (lambda d, ws: ["toyworld", "render", "-o", ws.parent / "s", "--clutter", "-2"], ("--clutter",)),
    "export --resolution -5": (
        lambda d, ws: ["export", "langsplat", "-w", ws, "-o", ws.parent / "x", "--resolution", "-5"],
        ("--resolution", "-5 is not in [-1, 100000]"),
    ),
    "export --level -1": (
        lambda d, ws: ["export", "gaussian-grouping", "-w", ws, "-o", ws.parent / "x", "--level", "-1"],
        ("--level", "-1 is not in [0, 127]"),
    ),
    "search --min-area 2": (lambda d, ws: ["search", "-w", ws, "a", "--min-area", "2"], ("--min-area",)),
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


def _link_loop(ws: Path) -> Path:
    (ws.parent / "loop-a").symlink_to(ws.parent / "loop-b")
    (ws.parent / "loop-b").symlink_to(ws.parent / "loop-a")
    return ws.parent / "loop-a"


def _with_truncated_jpeg(d: Path) -> Path:
    """The photos plus a JPEG cut in half: its header reads (``verify()`` passes), its pixels do not."""
    from PIL import Image

    folder = d.parent / "with-truncated"
    shutil.copytree(d, folder)
    Image.open(d / "view_00.png").convert("RGB").save(folder / "view_99.jpg", quality=90)
    data = (folder / "view_99.jpg").read_bytes()
    (folder / "view_99.jpg").write_bytes(data[: len(data) // 2])
    return folder


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
    "demo --device cuda without CUDA": (
        lambda d, ws: ["demo", "-o", ws.parent / "demo", "--device", "cuda"],
        ("no CUDA GPU is available",),
    ),
    "eval -o under a file": (lambda d, ws: ["eval", "--seeds", "0", "-o", _file(ws) / "out"], ("which is a file",)),
    "render -o under a file": (lambda d, ws: ["toyworld", "render", "-o", _file(ws) / "out"], ("which is a file",)),
    "masks a truncated JPEG": (
        lambda d, ws: ["masks", _with_truncated_jpeg(d), "-w", ws, "--backend", "classical"],
        ("view_99.jpg cannot be read", "truncated"),
    ),
    "run a truncated JPEG": (lambda d, ws: _run(_with_truncated_jpeg(d), ws), ("view_99.jpg cannot be read",)),
    "masks -w ''": (lambda d, ws: ["masks", d, "-w", "", "--backend", "classical"], ("--workspace", "an empty path")),
    "query -o ''": (lambda d, ws: ["query", "-w", ws, "--prompts", "a", "-o", ""], ("--output", "an empty path")),
    "masks -w a link loop": (lambda d, ws: ["masks", d, "-w", _link_loop(ws), "--backend", "classical"], ("a link loop",)),
    "masks -w under a file": (lambda d, ws: ["masks", d, "-w", _file(ws) / "ws"], ("which is a file",)),
    "embed another dimension": (
        lambda d, ws: ["embed", "-w", ws, "--model", "semlat-toy", "--features", "toy", "--device", "cpu"],
        ("holds 32-d features and this model gives 64-d",),
    ),
    "smooth unlabelled regions": (lambda d, ws: ["smooth", "-w", ws], ("has a cross-view label",)),
}


BEFORE_WORK_CASES = [
    pytest.param(case, existing, id=f"{case} ({'existing' if existing else 'new'} workspace)")
    for case in BEFORE_WORK
    for existing in ([False, True] if case.startswith(("run", "masks")) else [True])
]


@pytest.mark.parametrize(("case", "existing"), BEFORE_WORK_CASES)
def test_options_and_outputs_are_checked_before_the_first_write(
    case, existing, cli, tmp_path, images_dir, run_workspace, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # an empty path would be the current folder
    if "without CUDA" in case:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    ws = tmp_path / "ws"
    if existing:
        shutil.copytree(run_workspace, ws)
    make_args, messages = BEFORE_WORK[case]
    expect_refusal(cli, make_args(images_dir, ws), messages, tmp_path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "command", [["info"], ["info", "--check"], ["search", "a"], ["query", "--prompts", "a", "-o", "OUT", "--device", "cpu"]]
)
def test_read_only_commands_change_nothing(command, cli, tmp_path, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    before = snapshot(ws)
    code, _, err = cli(*[tmp_path / "out" if part == "OUT" else part for part in command], "-w", ws)
    assert code == 0, err
    assert snapshot(ws) == before


def _lance_files(ws: Path, table: str, folder: str) -> list[Path]:
    return sorted((ws / "db" / f"{table}.lance" / folder).iterdir())


def _write_manifest(ws: Path, content: bytes) -> None:
    (ws / "semlat.json").write_bytes(content)


def _edit_manifest(ws: Path, **changes) -> None:
    import json

    data = json.loads((ws / "semlat.json").read_text())
    data.update(changes)
    _write_manifest(ws, json.dumps(data).encode())


def _db_a_file(ws: Path) -> None:
    shutil.rmtree(ws / "db")
    (ws / "db").write_text("not a database")


def _truncate(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "r+b") as handle:
            handle.truncate(10)


DAMAGE = {
    "manifest a JSON list": (lambda ws: _write_manifest(ws, b"[1, 2]"), "a JSON list, not an object"),
    "manifest a JSON string": (lambda ws: _write_manifest(ws, b'"text"'), "a JSON str, not an object"),
    "manifest not UTF-8": (lambda ws: _write_manifest(ws, b'{"format": 1, "x": "\xff"}'), "is corrupt"),
    "feature set without slashes": (lambda ws: _edit_manifest(ws, feature_sets={"raw": {}}), "region_set/model/feature_set"),
    "manifest format 99": (lambda ws: _edit_manifest(ws, format=99), "has format 99, newer than the 1"),
    "db missing": (lambda ws: shutil.rmtree(ws / "db"), "database folder db is missing"),
    "db a file": (_db_a_file, "db is a file"),
    "_versions deleted": (lambda ws: shutil.rmtree(ws / "db" / "regions.lance" / "_versions"), "lost its version folder"),
    "a table deleted": (lambda ws: shutil.rmtree(ws / "db" / "regions.lance"), "table regions is missing"),
    "Lance data deleted": (lambda ws: [p.unlink() for p in _lance_files(ws, "regions", "data")], "table regions cannot be read"),
    "Lance data truncated": (lambda ws: _truncate(_lance_files(ws, "regions", "data")), "table regions cannot be read"),
    "Lance vectors truncated": (
        lambda ws: _truncate(_lance_files(ws, "embeddings", "data")),
        "table embeddings cannot be read",
    ),
}
OPENED = ("manifest", "feature set", "db", "_versions", "a table")
"""Damage found when a workspace is opened: every command refuses it; the rest is found when the table is read."""
DAMAGE_CASES = [
    pytest.param(case, command, id=f"{case}: {' '.join(command)}")
    for case in DAMAGE
    for command in (
        [["info", "--check"], ["search", "a"], ["masks", "IMAGES", "--backend", "classical", "--region-set", "more"]]
        if case.startswith(OPENED)
        else [["info", "--check"], ["search", "a"]]
    )
]


@pytest.mark.parametrize(("case", "command"), DAMAGE_CASES)
def test_a_damaged_workspace_is_one_line_saying_what_is_broken(case, command, cli, tmp_path, images_dir, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    damage, message = DAMAGE[case]
    damage(ws)
    args = [images_dir if part == "IMAGES" else part for part in command]
    err = expect_refusal(cli, [*args, "-w", ws], (message,), tmp_path)
    assert "restore" in err or "upgrade semlat" in err


def test_info_check_reads_every_table_of_a_sound_workspace(cli, tmp_path, run_workspace):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    before = snapshot(ws)
    code, out, err = cli("info", "-w", ws, "--check")
    assert code == 0 and "all consistent" in out and "embeddings" in out, err
    assert snapshot(ws) == before


def _refuse_writes_under(folder: Path, monkeypatch) -> None:
    """Simulate a read-only workspace folder: creating any file under ``folder`` fails as on a read-only mount."""
    import errno
    import os
    import tempfile

    def guarded(original):
        def make(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
            return original(*args, dir=dir, **kwargs)

        return make

    monkeypatch.setattr(tempfile, "TemporaryFile", guarded(tempfile.TemporaryFile))
    monkeypatch.setattr(tempfile, "mkstemp", guarded(tempfile.mkstemp))


READ_ONLY = {
    "masks": lambda d, ws: ["masks", d, "-w", ws, "--backend", "classical", "--region-set", "more"],
    "embed": lambda d, ws: ["embed", "-w", ws, "--features", "more", "--device", "cpu", "--model", "semlat-tiny"],
    "smooth": lambda d, ws: ["smooth", "-w", ws],
    "label": lambda d, ws: ["label", "-w", ws, "--method", "kmeans", "--labels", "2"],
    "refine": lambda d, ws: ["refine", "-w", ws],
    "import original": lambda d, ws: [
        "import",
        *("original", "-w", ws, "--images", d, "--masks-npz", ws.parent / "m.npz", "--labels-npz", ws.parent / "l.npz"),
    ],
}


@pytest.mark.parametrize("command", list(READ_ONLY))
def test_a_read_only_workspace_is_one_line_and_left_as_it_was(
    command, cli, tmp_path, images_dir, run_workspace, tiny_checkpoint, monkeypatch
):
    import numpy as np

    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    if command in ("smooth", "refine"):
        cli("label", "-w", ws, "--method", "kmeans", "--labels", "2")  # labels, so the command gets to its first write
    names = [p.name for p in sorted(images_dir.iterdir())]
    np.savez(ws.parent / "m.npz", **{name: np.full((1, 256, 256), 5.0, np.float32) for name in names})
    np.savez(ws.parent / "l.npz", **{name: np.zeros(1, np.int64) for name in names})
    _refuse_writes_under(ws, monkeypatch)
    args = READ_ONLY[command](images_dir, ws) + (["--pretrained", tiny_checkpoint] if command == "embed" else [])
    expect_refusal(cli, args, ("cannot be written", "Read-only file system"), ws)


def _fill_the_disk_after(adds: int, monkeypatch) -> None:
    """Simulate a disk that fills up: LanceDB's ``add`` raises what it raises on ENOSPC after ``adds`` commits."""
    from lancedb.table import LanceTable

    add, calls = LanceTable.add, []

    def add_until_full(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > adds:
            raise RuntimeError(
                "lance error: LanceError(IO): Generic LocalFileSystem error: Unable to copy data to file: "
                "No space left on device (os error 28), /root/.cargo/registry/src/lance-table/src/io/commit.rs:1663:50"
            )
        return add(self, *args, **kwargs)

    monkeypatch.setattr(LanceTable, "add", add_until_full)


FULL_DISK = {
    "masks": (lambda d, ws: ["masks", d, "-w", ws, "--backend", "classical", "--region-set", "more"], "more", "classical"),
    "embed": (
        lambda d, ws: ["embed", "-w", ws, "--features", "more", "--device", "cpu", "--model", "semlat-tiny"],
        "more",
        "raw",
    ),
}


def _table_contents(ws: Path, stage: str, name: str) -> list:
    """Every region (masks) or vector (embed) of one set, image by image, comparable across sets."""
    from semlat.workspace import Workspace

    opened = Workspace.open(ws)
    if stage == "masks":
        return [[vars(r) for r in opened.regions(name, image)] for image in opened.images()]
    key = next(k for k in opened.feature_keys() if k.feature_set == name)
    return [opened.embeddings(key, image)[1].tobytes() for image in opened.images()]


@pytest.mark.parametrize("command", list(FULL_DISK))
def test_a_full_disk_is_one_line_and_a_rerun_resumes_to_the_same_workspace(
    command, cli, tmp_path, images_dir, run_workspace, tiny_checkpoint, monkeypatch
):
    ws = tmp_path / "ws"
    shutil.copytree(run_workspace, ws)
    make_args, written, clean = FULL_DISK[command]  # the set the command writes, the same set from an uninterrupted run
    args = make_args(images_dir, ws) + (["--pretrained", tiny_checkpoint] if command == "embed" else [])
    with monkeypatch.context() as patch:
        _fill_the_disk_after(2, patch)
        expect_refusal(cli, args, ("no space left to write workspace", "No space left on device", "run the same command again"))
    code, _, err = cli(*args)
    assert code == 0, err
    assert _table_contents(ws, command, written) == _table_contents(ws, command, clean)
