"""Atomic writes and file hashes: what lands on disk, and what a failed write leaves (nothing)."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from semlat import files
from semlat.errors import SemlatError

ARRAY = np.arange(12, dtype=np.float32).reshape(3, 4)
DATA = {"b": [1, 2], "a": {"z": None, "y": "é"}}


def read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


# (write, read back, expected): one row per writer
WRITERS: dict[str, tuple[Callable[[Path], Path], Callable[[Path], object], object]] = {
    "write_bytes": (lambda p: files.write_bytes(p, b"\x00bytes\xff"), Path.read_bytes, b"\x00bytes\xff"),
    "write_text": (lambda p: files.write_text(p, "text é\n"), lambda p: p.read_text(encoding="utf-8"), "text é\n"),
    "write_json": (lambda p: files.write_json(p, DATA), lambda p: json.loads(p.read_text()), DATA),
    "atomic_write": (lambda p: files.atomic_write(p, lambda handle: handle.write(b"streamed")), Path.read_bytes, b"streamed"),
    "save_npy": (lambda p: files.save_npy(p, ARRAY), np.load, ARRAY),
    "save_npz": (lambda p: files.save_npz(p, x=ARRAY, y=ARRAY[0]), read_npz, {"x": ARRAY, "y": ARRAY[0]}),
}


def assert_equal(got: object, want: object) -> None:
    if isinstance(want, dict) and want and isinstance(next(iter(want.values())), np.ndarray):
        assert sorted(got) == sorted(want)  # type: ignore[arg-type]
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])  # type: ignore[index]
    elif isinstance(want, np.ndarray):
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want


@pytest.mark.parametrize("existing", [False, True], ids=["new file", "replaces a file"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_writers_write_and_replace(tmp_path: Path, writer: str, existing: bool) -> None:
    write, read, want = WRITERS[writer]
    path = tmp_path / "out.bin"
    if existing:
        path.write_bytes(b"old content")
    assert write(path) == path
    assert_equal(read(path), want)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary file left


def test_write_json_is_the_manifest_format(tmp_path: Path) -> None:
    """Indent 2, sorted keys, no trailing newline: what workspaces have always held."""
    files.write_json(tmp_path / "m.json", DATA)
    assert (tmp_path / "m.json").read_text() == json.dumps(DATA, indent=2, sort_keys=True)
    assert (tmp_path / "m.json").read_text().startswith('{\n  "a": {\n    "y": "\\u00e9"')


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
@pytest.mark.parametrize("existing", [False, True], ids=["new file", "existing file"])
def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path, existing: bool, error: type) -> None:
    path = tmp_path / "target.npy"
    if existing:
        path.write_bytes(b"old content")

    def half_then_fail(handle) -> None:
        handle.write(b"half a file")
        raise error("stop")

    with pytest.raises(error):
        files.atomic_write(path, half_then_fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["target.npy"] if existing else [])
    if existing:
        assert path.read_bytes() == b"old content"


def test_the_new_file_is_fsynced_before_it_replaces_the_target(tmp_path: Path, monkeypatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda src, dst: (events.append("replace"), real_replace(src, dst))[1])
    files.write_bytes(tmp_path / "f", b"x")
    assert events == ["fsync", "replace"]


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    files.write_bytes(tmp_path / "f", b"x")
    (tmp_path / "plain").write_bytes(b"x")
    assert (tmp_path / "f").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777 == 0o666 & ~mask


def test_missing_parents_are_an_error_unless_asked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        files.write_bytes(tmp_path / "a" / "b" / "f", b"x")
    assert not (tmp_path / "a").exists()
    files.write_bytes(tmp_path / "a" / "b" / "f", b"x", make_parents=True)
    assert (tmp_path / "a" / "b" / "f").read_bytes() == b"x"


def test_atomic_open_refuses_other_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        with files.atomic_open(tmp_path / "f", "ab"):
            pass
    assert not list(tmp_path.iterdir())


def test_atomic_open_writes_text_as_utf8(tmp_path: Path) -> None:
    with files.atomic_open(tmp_path / "f.txt", "w") as handle:
        handle.write("é")
    assert (tmp_path / "f.txt").read_bytes() == "é".encode()


# -- streamed npz ----------------------------------------------------------------------------
def test_atomic_npz_streams_what_np_savez_writes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(zipfile, "time", SimpleNamespace(time=lambda: 1_700_000_000.0, localtime=time.localtime))
    arrays = {"a.png": ARRAY, "b.png": np.array([3, 7], dtype=np.int64), "empty": np.zeros((0, 4), np.float32)}
    path = tmp_path / "streamed.npz"
    with files.atomic_npz(path) as npz:
        for name, array in arrays.items():
            npz.add(name, array)
            assert not path.exists()  # appears only when complete
    np.savez(tmp_path / "savez.npz", **arrays)
    assert path.read_bytes() == (tmp_path / "savez.npz").read_bytes()


def test_a_failed_npz_stream_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with files.atomic_npz(tmp_path / "f.npz") as npz:
            npz.add("a", ARRAY)
            raise RuntimeError("killed mid-export")
    assert not list(tmp_path.iterdir())


# -- output folders --------------------------------------------------------------------------
def test_output_dir_removes_only_the_folders_it_made_when_the_block_fails(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    target = tmp_path / "kept" / "new" / "deeper"
    with pytest.raises(RuntimeError):
        with files.output_dir(target) as folder:
            assert folder == target and target.is_dir()
            raise RuntimeError("export failed")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not list((tmp_path / "kept").iterdir())


def test_output_dir_keeps_its_folders_when_the_block_succeeds(tmp_path: Path) -> None:
    with files.output_dir(tmp_path / "a" / "b") as folder:
        files.write_bytes(folder / "f", b"x")
    assert (tmp_path / "a" / "b" / "f").read_bytes() == b"x"


def test_output_dir_that_is_a_file_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(SemlatError, match="is a file"):
        with files.output_dir(tmp_path / "f"):
            pass
    assert (tmp_path / "f").read_bytes() == b"x"


# -- hashes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 1 << 20, (1 << 20) + 7])
def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path: Path, size: int) -> None:
    data = np.random.default_rng(size).bytes(size)
    (tmp_path / "f").write_bytes(data)
    assert files.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_save_png_round_trips(tmp_path):
    from PIL import Image

    from semlat.files import save_png

    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = save_png(tmp_path / "sub" / "a.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), image)


def test_an_output_folder_under_a_file_is_one_clear_error(tmp_path):
    from semlat.files import output_dir

    (tmp_path / "file").write_text("x")
    with pytest.raises(SemlatError, match="output folder .* is under .*file, which is a file"):
        with output_dir(tmp_path / "file" / "deep" / "out"):
            pass


def test_a_temporary_file_left_by_a_killed_writer_goes_with_the_next_write(tmp_path):
    from semlat.files import write_text

    stale = tmp_path / ".a.png.x1y2z3.tmp"
    stale.write_bytes(b"half")
    other = tmp_path / ".b.png.x1y2z3.tmp"
    other.write_bytes(b"another file's")
    write_text(tmp_path / "a.png", "whole")
    assert not stale.exists() and other.exists() and (tmp_path / "a.png").read_text() == "whole"
