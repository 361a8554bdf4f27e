"""The workspace doctor: each way a workspace on disk can be broken, as one line saying what is broken and what to do.

Opening a workspace runs `check_layout` (stat calls only: the database folder and each table's
version folder; the manifest itself is checked by `Manifest.from_dict`) and `Workspace` checks the
ledger against the tables it names; `check_tables` (`semlat info --check`) reads every table in full.
What LanceDB raises while a table is read or written becomes the same kind of line through
`reading` and `writing`, so a damaged table, a read-only folder or a full disk never ends in a
traceback.
"""

from __future__ import annotations

import errno
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from semlat.errors import SemlatError

DATABASE_NAME = "db"
TABLE_SUFFIX = ".lance"
_RUST_LOCATION = re.compile(r",? /\S+\.rs:\d+:\d+")


def damaged(root: Path, what: str) -> SemlatError:
    """The one message of a broken workspace."""
    return SemlatError(
        f"workspace {root} is damaged ({what}): restore it from a copy or make a new workspace "
        f"(`semlat info -w {root} --check` reads every table)"
    )


def _reason(exc: BaseException) -> str:
    """The library's message on one line, without Rust source locations."""
    text = " ".join(_RUST_LOCATION.sub("", str(exc)).split())
    return text[:300] or type(exc).__name__


def check_layout(root: Path) -> None:
    """Refuse a workspace whose database folder is missing or a file, or whose tables lost their version folder.

    A workspace's database folder is created before its manifest is first written, so a manifest
    without one means the folder was deleted.
    """
    db = root / DATABASE_NAME
    if db.is_symlink() and not db.exists():
        raise damaged(root, f"{DATABASE_NAME} is a broken link")
    if db.exists() and not db.is_dir():
        raise damaged(root, f"{DATABASE_NAME} is a file, not the database folder")
    if not db.exists():
        raise damaged(root, f"its database folder {DATABASE_NAME} is missing")
    for table in sorted(db.glob(f"*{TABLE_SUFFIX}")):
        versions = table / "_versions"
        if not table.is_dir() or not versions.is_dir() or not any(versions.glob("*.manifest")):
            raise damaged(root, f"table {table.stem} has lost its version folder _versions")


def check_ledger(root: Path, stages: set[str], tables: set[str]) -> None:
    """Refuse a ledger that names finished work in a table that is gone (its folder deleted)."""
    needed = {"images"} if stages else set()
    needed |= {stage.split("/", 1)[0] for stage in stages if stage.startswith(("regions/", "embeddings/"))}
    missing = sorted(needed - tables)
    if missing:
        raise damaged(root, f"the ledger lists finished work but table {missing[0]} is missing")


@contextmanager
def reading(root: Path, table: str) -> Iterator[None]:
    """Turn what LanceDB raises while opening or reading ``table`` into `damaged`."""
    try:
        yield
    except SemlatError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        raise damaged(root, f"table {table} cannot be read: {_reason(exc)}") from exc


_FULL = ("no space left", "os error 28", "disk quota")
_READ_ONLY = ("read-only file system", "permission denied", "os error 30", "os error 13")


def write_error(root: Path, exc: BaseException) -> SemlatError:
    """One line for a write to the workspace that failed: a full disk, a read-only folder or another OS error."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _reason(exc)
    text = reason.lower()
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or any(part in text for part in _FULL):
        return SemlatError(
            f"no space left to write workspace {root} ({reason}): free some space, then run the same command again "
            "(finished images are kept; it resumes where it stopped)"
        )
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(part in text for part in _READ_ONLY):
        return SemlatError(
            f"workspace {root} cannot be written ({reason}): make it writable, or copy it to a folder you can write to"
        )
    return SemlatError(
        f"cannot write workspace {root} ({reason}): check the disk, and the workspace with `semlat info -w {root} --check`, "
        "then run the same command again"
    )


@contextmanager
def writing(root: Path) -> Iterator[None]:
    """Turn a failed write (what the OS or LanceDB raises) into `write_error`."""
    try:
        yield
    except SemlatError:
        raise
    except (OSError, RuntimeError) as exc:
        raise write_error(root, exc) from exc


def probe_writable(root: Path) -> None:
    """Refuse a workspace folder that cannot be written, before its first write (a file made and removed: nothing changes)."""
    folder = next((p for p in (root / DATABASE_NAME, root, *root.parents) if p.is_dir()), None)
    if folder is None:
        return
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise write_error(root, exc) from exc
