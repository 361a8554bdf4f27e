import errno
import os
import shutil

import pytest

from semlat.errors import SemlatError
from semlat.workspace import Workspace
from semlat.workspace.doctor import check_layout, check_ledger, probe_writable, reading, write_error, writing

ENOSPC_LANCE = (
    "lance error: LanceError(IO): Generic LocalFileSystem error: Unable to copy data to file: "
    "No space left on device (os error 28), /root/.cargo/registry/src/lance-table-13.0.0/src/io/commit.rs:1663:50"
)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "no space left to write workspace"),
        (RuntimeError(ENOSPC_LANCE), "no space left to write workspace"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS)), "cannot be written"),
        (RuntimeError("lance error: Permission denied (os error 13)"), "cannot be written"),
        (OSError(errno.EIO, os.strerror(errno.EIO)), "cannot write workspace"),
    ],
)
def test_a_failed_write_is_one_line_saying_why_and_what_to_do(tmp_path, exc, expected):
    error = write_error(tmp_path, exc)
    assert expected in str(error) and "\n" not in str(error)
    assert ".rs:" not in str(error)  # no Rust source locations
    with pytest.raises(SemlatError, match=expected), writing(tmp_path):
        raise exc


def test_what_lancedb_raises_while_reading_names_the_table(tmp_path):
    with (
        pytest.raises(SemlatError, match="table regions cannot be read: lance error: Not found") as info,
        reading(tmp_path, "regions"),
    ):
        raise RuntimeError(
            "lance error: Not found: db/regions.lance/data/x.lance, /rustc/abc/library/core/src/ops/function.rs:250:5"
        )
    assert "restore it from a copy" in str(info.value) and "--check" in str(info.value) and ".rs:" not in str(info.value)
    with pytest.raises(KeyError), reading(tmp_path, "regions"):  # a bug stays a bug
        raise KeyError("x")


def test_the_layout_needs_the_database_folder_and_each_tables_versions(tmp_path):
    with pytest.raises(SemlatError, match="database folder db is missing"):
        check_layout(tmp_path)
    (tmp_path / "db").write_text("x")
    with pytest.raises(SemlatError, match="db is a file"):
        check_layout(tmp_path)
    (tmp_path / "db").unlink()
    (tmp_path / "db" / "regions.lance" / "_versions").mkdir(parents=True)
    with pytest.raises(SemlatError, match="table regions has lost its version folder"):
        check_layout(tmp_path)
    (tmp_path / "db" / "regions.lance" / "_versions" / "1.manifest").write_bytes(b"")
    check_layout(tmp_path)


def test_the_ledger_must_name_only_tables_that_exist(tmp_path):
    check_ledger(tmp_path, set(), set())
    check_ledger(tmp_path, {"regions/a", "embeddings/a/m/raw"}, {"images", "regions", "embeddings", "units"})
    with pytest.raises(SemlatError, match="table embeddings is missing"):
        check_ledger(tmp_path, {"regions/a", "embeddings/a/m/raw"}, {"images", "regions", "units"})


def test_a_writable_folder_passes_the_probe_unchanged(tmp_path):
    probe_writable(tmp_path / "not-yet" / "ws")  # the nearest existing folder is probed
    assert list(tmp_path.iterdir()) == []


def test_a_workspace_from_disk_checks_in_full(tmp_path, images_dir):
    from semlat.stages.masks import propose_regions

    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=3)
    counts = Workspace.open(tmp_path / "ws").check()
    assert counts["images"] == 3 and counts["units"] == 3 and counts["regions"] <= 9
    shutil.rmtree(tmp_path / "ws" / "db" / "images.lance")
    with pytest.raises(SemlatError, match="table images is missing"):
        Workspace.open(tmp_path / "ws")
