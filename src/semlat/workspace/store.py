"""The Workspace: one directory per scene, a JSON manifest plus an embedded LanceDB database.

Every stage reads and writes through it. Work is committed per image: all rows of one image
for one stage go in with a single LanceDB add (one atomic commit), then the image is entered
in the ``units`` ledger. A run killed between the two leaves rows without a ledger entry; the
next run deletes them and redoes that image, so a resumed run ends equal to an uninterrupted one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("LANCE_LOG", "error")

import lancedb  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from semlat import rle  # noqa: E402
from semlat.errors import SemlatError  # noqa: E402
from semlat.files import check_output_dir  # noqa: E402
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord, Region  # noqa: E402
from semlat.workspace import doctor  # noqa: E402
from semlat.workspace.manifest import Manifest  # noqa: E402
from semlat.workspace.scene import (  # noqa: E402
    CAMERAS_SCHEMA,
    OBSERVATIONS_SCHEMA,
    CameraPose,
    SceneTracks,
    camera_rows,
    observation_rows,
    observations_from_rows,
    pose_from_row,
)

T = TypeVar("T")

MANIFEST_NAME = "semlat.json"
DATABASE_NAME = doctor.DATABASE_NAME

IMAGES_SCHEMA = pa.schema(
    [
        ("image_id", pa.int32()),
        ("file_name", pa.string()),
        ("path", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("sha256", pa.string()),
    ]
)
REGIONS_SCHEMA = pa.schema(
    [
        ("region_set", pa.string()),
        ("image_id", pa.int32()),
        ("region_id", pa.int32()),
        ("label", pa.int32()),
        ("level", pa.int8()),
        ("bbox", pa.list_(pa.float32(), 4)),
        ("area", pa.int64()),
        ("score", pa.float32()),
        ("mask_rle", pa.string()),
    ]
)
UNITS_SCHEMA = pa.schema([("stage", pa.string()), ("image_id", pa.int32())])


def embeddings_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("region_set", pa.string()),
            ("model_key", pa.string()),
            ("feature_set", pa.string()),
            ("image_id", pa.int32()),
            ("region_id", pa.int32()),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def feature_filter(key: FeatureKey, image_ids: Sequence[int] | None = None, whole_images: bool = True) -> str:
    """The LanceDB filter selecting ``key``'s rows of the embeddings table: the one place it is written.

    Args:
        key: the feature set.
        image_ids: only these images (None: all).
        whole_images: keep the whole-image rows (region id −1).
    """
    return rows_filter(key, image_ids, whole_images=whole_images) or "true"


def rows_filter(
    key: FeatureKey | None,
    image_ids: Sequence[int] | None = None,
    region_ids: Sequence[int] | None = None,
    whole_images: bool = True,
) -> str | None:
    """A LanceDB filter on the embeddings table's key and id columns (None when it would keep every row).

    Args:
        key: only this feature set's rows (None: any).
        image_ids: only these images (None: all).
        region_ids: only these region ids (None: all).
        whole_images: keep the whole-image rows (region id −1); False adds ``region_id >= 0``, a
            condition nearly every row passes, which costs more through an index than checking the results.
    """
    parts = []
    if key is not None:
        parts += [f"{name} = {_quote(getattr(key, name))}" for name in ("region_set", "model_key", "feature_set")]
    if not whole_images:
        parts.append("region_id >= 0")
    if image_ids is not None:
        parts.append(f"image_id IN ({', '.join(map(str, sorted(int(i) for i in image_ids)))})")
    if region_ids is not None:
        parts.append(f"region_id IN ({', '.join(map(str, sorted(int(i) for i in region_ids)))})")
    return " AND ".join(parts) or None


def regions_stage(region_set: str) -> str:
    return f"regions/{region_set}"


def embeddings_stage(key: FeatureKey) -> str:
    return f"embeddings/{key}"


class Workspace:
    """A scene's workspace directory. Open with `Workspace.open` or `Workspace.open_or_create`.

    A Workspace keeps its LanceDB table handles open, so it sees the tables as they were when it
    first used them plus its own writes (LanceDB's default consistency); open a new one to see
    what another process wrote since.
    """

    def __init__(self, root: Path, manifest: Manifest):
        self.root = root
        self.manifest = manifest
        self._connection: Any = None
        self._tables: dict[str, Any] = {}
        self._memo: dict[tuple[str, Hashable], Any] = {}
        self._generation: dict[str, int] = {}
        self._prefetching: dict[tuple[str, Hashable], threading.Thread] = {}
        self._memo_lock = threading.Lock()
        self._writable = False

    @property
    def _db(self):
        """The LanceDB connection, made on first use."""
        if self._connection is None:
            if not (self.root / MANIFEST_NAME).is_file():
                self.save_manifest()  # a database never exists without its manifest
            with doctor.reading(self.root, DATABASE_NAME):
                self._connection = lancedb.connect(str(self.root / DATABASE_NAME))
        return self._connection

    def reading(self, table: str):
        """Around a read of ``table`` outside this class (a vector search): what LanceDB raises is one `damaged` line."""
        return doctor.reading(self.root, table)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around every write: the folder is checked writable before the first one, and a failed write is one line."""
        if not self._writable:
            doctor.probe_writable(self.root)
            self._writable = True
        with doctor.writing(self.root):
            yield

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """Open an existing workspace; a clear error if there is none."""
        root = Path(root)
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.is_file():
            raise SemlatError(
                f"{root} is not a semlat workspace (no {MANIFEST_NAME}): run `semlat masks` or `semlat import original` first"
            )
        ws = cls(root, Manifest.read(manifest_path))
        doctor.check_layout(root)
        doctor.check_ledger(root, ws._stages(), set(ws._table_names()))
        return ws

    @classmethod
    def open_or_create(cls, root: str | Path) -> Workspace:
        """Open the workspace at ``root``, or a new empty one if the directory holds none.

        A new workspace is written to disk with its first write (the manifest, then the
        database), so a stage that fails on bad input before writing leaves nothing behind.
        """
        root = Path(root)
        if (root / MANIFEST_NAME).is_file():
            return cls.open(root)
        if root.exists() and not root.is_dir():
            raise SemlatError(f"workspace path {root} is a file: pass a directory")
        if root.is_symlink() and not root.exists():
            raise SemlatError(f"workspace path {root} is a broken link or a link loop: pass a directory")
        try:
            check_output_dir(root)
        except SemlatError as exc:
            raise SemlatError(str(exc).replace("output folder", "workspace folder", 1)) from None
        return cls(root, Manifest())

    def save_manifest(self) -> None:
        """Write the manifest (atomically); the database folder is made before a new workspace's first manifest."""
        with self.writing():
            if not (self.root / MANIFEST_NAME).is_file():
                (self.root / DATABASE_NAME).mkdir(parents=True, exist_ok=True)
            self.manifest.write(self.root / MANIFEST_NAME)

    def claim_config(self, section: str, name: str, config: dict[str, Any], hint: str) -> None:
        """Record how ``name`` in ``section`` is made, refusing to mix two configurations under one name."""
        entries = self.manifest.section(section)
        existing = entries.get(name)
        if existing is not None and existing != config:
            raise SemlatError(
                f"{section[:-1].replace('_', ' ')} {name!r} in this workspace was made with other settings ({existing}): {hint}"
            )
        if existing is None:
            entries[name] = config
            self.save_manifest()

    # -- tables --------------------------------------------------------------------------
    def _table_names(self) -> list[str]:
        """The tables in the database (none for a workspace not yet written)."""
        if self._connection is None and not (self.root / DATABASE_NAME).is_dir():
            return []
        with doctor.reading(self.root, DATABASE_NAME):
            return list(self._db.list_tables().tables)

    def _table(self, name: str, schema: pa.Schema | None = None):
        table = self._tables.get(name)
        if table is None:
            if schema is None and self._connection is None and not (self.root / DATABASE_NAME).is_dir():
                return None  # a workspace not yet written: reads find nothing and create nothing
            if name in self._table_names():
                with doctor.reading(self.root, name):
                    table = self._db.open_table(name)
            elif schema is None:
                return None
            else:
                with self.writing():
                    table = self._db.create_table(name, schema=schema)
            self._tables[name] = table
        return table

    def memo(self, table: str, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``, computed once and kept until this Workspace next changes ``table``.

        For what is read from a table again and again (search reads the images and the regions'
        small columns once, then answers every query from memory). Waits for a `prefetch` of
        the same entry that is under way instead of reading twice.
        """
        thread = self._prefetching.get((table, key))
        if thread is not None:
            thread.join()
        if (table, key) not in self._memo:
            self._memo[(table, key)] = load()
        return self._memo[(table, key)]

    def peek(self, table: str, key: Hashable) -> Any | None:
        """What `memo` keeps for (table, key), or None when it is not (yet) there; never reads or waits."""
        return self._memo.get((table, key))

    def prefetch(self, table: str, key: Hashable, load: Callable[[], Any]) -> None:
        """Compute `memo` (table, key) on a background thread, unless it is kept or under way.

        So that a first call can answer from a few indexed reads while the whole of what later
        calls need is read behind it. A write to ``table`` meanwhile (`forget`) discards the result.
        """
        with self._memo_lock:
            running = self._prefetching.get((table, key))
            if (table, key) in self._memo or (running is not None and running.is_alive()):
                return
            generation = self._generation.get(table, 0)

        def run() -> None:
            try:
                value = load()
            except Exception:  # noqa: BLE001 - a failed prefetch is redone (and reported) by the next memo()
                return
            with self._memo_lock:
                if self._generation.get(table, 0) == generation:
                    self._memo.setdefault((table, key), value)

        thread = threading.Thread(target=run, name=f"semlat-prefetch-{table}", daemon=True)
        self._prefetching[(table, key)] = thread
        thread.start()

    def settle(self) -> None:
        """Wait for every `prefetch` under way (before timing, comparing or closing)."""
        for thread in list(self._prefetching.values()):
            thread.join()

    def drop(self, table: str, key: Hashable) -> None:
        """Let go of one entry `memo` keeps (what a caller keeps a bounded number of)."""
        with self._memo_lock:
            self._memo.pop((table, key), None)

    def forget(self, table: str) -> None:
        """Drop what `memo` keeps from ``table`` (every write through this Workspace does this)."""
        with self._memo_lock:
            self._generation[table] = self._generation.get(table, 0) + 1
            for key in [key for key in self._memo if key[0] == table]:
                del self._memo[key]

    def table(self, name: str):
        """The LanceDB table ``name`` (for vector search and indexes), or None if it does not exist."""
        return self._table(name)

    def rows(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Every row of table ``name`` (empty if the table does not exist)."""
        return self._rows(name, None, columns)

    def _rows(self, name: str, where: str | None = None, columns: list[str] | None = None) -> pa.Table:
        """Rows of table ``name`` matching the SQL filter ``where`` (empty if the table does not exist)."""
        table = self._table(name)
        if table is None:
            return pa.table({})
        with doctor.reading(self.root, name):
            query = table.search()
            if where:
                query = query.where(where)
            if columns:
                query = query.select(columns)
            return query.limit(None).to_arrow()

    # -- images --------------------------------------------------------------------------
    def images(self) -> list[ImageRecord]:
        """Every registered image, by image id."""
        return list(self.memo("images", "records", self._load_images))

    def image_count(self) -> int:
        """How many images are registered: from `images` when it was read, else counted by LanceDB (no read of the rows)."""
        known = self.peek("images", "records")
        if known is not None:
            return len(known)
        table = self._table("images")
        if table is None:
            return 0
        with doctor.reading(self.root, "images"):
            return self.memo("images", "count", table.count_rows)

    def prefetch_images(self) -> None:
        """Read `images` on a background thread (`prefetch`), for what will soon need all of them."""
        self.prefetch("images", "records", self._load_images)

    def _load_images(self) -> list[ImageRecord]:
        rows = self._rows("images").to_pylist()
        return sorted((ImageRecord(**row) for row in rows), key=lambda record: record.image_id)

    def images_by_id(self, image_ids: Sequence[int]) -> dict[int, ImageRecord]:
        """The records of these image ids (unknown ids left out): from `images` when it was read, else looked up."""
        known = self.peek("images", "records")
        wanted = {int(i) for i in image_ids}
        if known is not None:
            by_id = self.memo("images", "by_id", lambda: {record.image_id: record for record in known})
            return {i: by_id[i] for i in wanted if i in by_id}
        if not wanted:
            return {}
        rows = self._rows("images", rows_filter(None, wanted)).to_pylist()
        return {row["image_id"]: ImageRecord(**row) for row in rows}

    def image(self, name: str) -> ImageRecord:
        for record in self.images():
            if record.file_name == name or Path(record.file_name).stem == name:
                return record
        raise SemlatError(f"no image named {name!r} in workspace {self.root}: `semlat info -w {self.root}` lists them")

    def add_images(self, entries: Sequence[tuple[Path, int, int, str]]) -> list[ImageRecord]:
        """Register images (path, width, height, sha256) in one commit; known ones are reused.

        A file name already registered with different content is refused, since every stored
        region and feature of it would silently stop matching the pixels.
        """
        known = {record.file_name: record for record in self.images()}
        next_id = max((record.image_id for record in known.values()), default=-1) + 1
        records, new = [], []
        for path, width, height, sha in entries:
            record = known.get(path.name)
            if record is not None:
                if record.sha256 != sha:
                    raise SemlatError(
                        f"image {path.name} differs from the one in workspace {self.root}: use a new workspace for changed photos"
                    )
                records.append(record)
                continue
            record = ImageRecord(next_id, path.name, str(path.resolve()), width, height, sha)
            next_id += 1
            new.append(record)
            records.append(record)
        if new:
            table = self._table("images", IMAGES_SCHEMA)
            with self.writing():
                table.add(pa.Table.from_pylist([vars(r) for r in new], schema=IMAGES_SCHEMA))
            self.forget("images")
        return records

    # -- ledger --------------------------------------------------------------------------
    def _stages(self) -> set[str]:
        """Every stage the ledger has finished work of."""
        rows = self._rows("units", None, ["stage"])
        return set(rows.column("stage").to_pylist()) if rows.num_rows else set()

    def done_images(self, stage: str) -> set[int]:
        rows = self._rows("units", f"stage = {_quote(stage)}", ["image_id"])
        return set(rows.column("image_id").to_pylist()) if rows.num_rows else set()

    def _commit_unit(self, stage: str, image_id: int, table: str, where: str, rows: pa.Table) -> None:
        """Replace an image's rows for one stage (one atomic add), then enter it in the ledger."""
        target = self._table(table, rows.schema)
        self.forget(table)
        with self.writing():
            target.delete(where)
            if rows.num_rows:
                target.add(rows)
        self._mark_done(stage, image_id)

    def _mark_done(self, stage: str, image_id: int) -> None:
        units = self._table("units", UNITS_SCHEMA)
        with self.writing():
            units.delete(f"stage = {_quote(stage)} AND image_id = {image_id}")
            units.add(pa.Table.from_pylist([{"stage": stage, "image_id": image_id}], schema=UNITS_SCHEMA))

    # -- regions -------------------------------------------------------------------------
    def write_regions(self, region_set: str, image_id: int, regions: Sequence[Region]) -> None:
        rows = pa.Table.from_pylist(
            [
                {
                    "region_set": region_set,
                    "image_id": image_id,
                    "region_id": r.region_id,
                    "label": r.label,
                    "level": r.level,
                    "bbox": list(r.bbox),
                    "area": r.area,
                    "score": r.score,
                    "mask_rle": r.rle["counts"],
                }
                for r in regions
            ],
            schema=REGIONS_SCHEMA,
        )
        where = f"region_set = {_quote(region_set)} AND image_id = {image_id}"
        self._commit_unit(regions_stage(region_set), image_id, "regions", where, rows)

    def regions(self, region_set: str, image: ImageRecord) -> list[Region]:
        """The image's regions in region-id order."""
        rows = self._rows("regions", f"region_set = {_quote(region_set)} AND image_id = {image.image_id}")
        size = [image.height, image.width]
        regions = [
            Region(
                row["region_id"],
                {"size": size, "counts": row["mask_rle"]},
                row["label"],
                row["level"],
                row["score"],
                tuple(row["bbox"]),
                row["area"],
            )
            for row in rows.to_pylist()
        ]
        return sorted(regions, key=lambda region: region.region_id)

    def region_columns(self, region_set: str, image_ids: Sequence[int] | None = None) -> pa.Table:
        """The small columns of the regions of a set (image_id, region_id, label, level, bbox, area; no masks).

        Args:
            region_set: the region set.
            image_ids: only the regions of these images (an indexed lookup; None: every region).
        """
        columns = ["image_id", "region_id", "label", "level", "bbox", "area"]
        if image_ids is None:
            return self._rows("regions", f"region_set = {_quote(region_set)}", columns)
        if not len(image_ids):
            return self._rows("regions", "false", columns)
        rows = self._rows("regions", rows_filter(None, set(image_ids)), ["region_set", *columns])
        if rows.num_rows == 0:
            return rows
        return rows.filter(pc.equal(rows.column("region_set"), region_set)).select(columns)

    def region_keys(
        self,
        region_set: str,
        label: int | None = None,
        levels: Sequence[int] | None = None,
        image_ids: Sequence[int] | None = None,
    ) -> pa.Table:
        """image_id and region_id of the regions of a set with this label, at these levels, in these images.

        One query answered from the scalar indexes (label and level bitmaps, the image B-tree),
        for a search that needs the regions passing a filter before the set's columns are read.
        """
        parts = [f"region_set = {_quote(region_set)}"]
        if label is not None:
            parts.append(f"label = {int(label)}")
        if levels is not None:
            parts.append(f"level IN ({', '.join(str(int(level)) for level in levels)})" if len(levels) else "false")
        if image_ids is not None:
            parts.append(f"image_id IN ({', '.join(map(str, sorted(int(i) for i in image_ids)))})" if len(image_ids) else "false")
        return self._rows("regions", " AND ".join(parts), ["image_id", "region_id"])

    def region_mask(self, region_set: str, image: ImageRecord, region_id: int) -> npt.NDArray[np.bool_] | None:
        """One region's full-resolution mask, without reading the image's other regions (None if there is none)."""
        where = f"region_set = {_quote(region_set)} AND image_id = {image.image_id} AND region_id = {int(region_id)}"
        rows = self._rows("regions", where, ["mask_rle"])
        if rows.num_rows == 0:
            return None
        return rle.decode({"size": [image.height, image.width], "counts": rows.column("mask_rle")[0].as_py()})

    def region_sets(self) -> list[str]:
        return sorted(self.manifest.region_sets)

    def has_labels(self, region_set: str) -> bool:
        """Whether any region of ``region_set`` carries a cross-view label."""
        return self._rows("regions", f"region_set = {_quote(region_set)} AND label >= 0", ["label"]).num_rows > 0

    def region_set(self, name: str | None = None) -> str:
        """The region set to work on: ``name`` (checked), or the workspace's only one."""
        sets = self.region_sets()
        if name is not None:
            if name not in sets:
                raise SemlatError(f"no region set {name!r} in {self.root} (has: {', '.join(sets) or 'none'})")
            return name
        if not sets:
            raise SemlatError(f"workspace {self.root} has no regions yet: run `semlat masks` or `semlat import original` first")
        if len(sets) > 1:
            raise SemlatError(f"workspace {self.root} has several region sets ({', '.join(sets)}): pass --region-set")
        return sets[0]

    # -- scene ---------------------------------------------------------------------------
    def write_scene(
        self,
        cameras: Sequence[CameraPose] | None,
        tracks: SceneTracks | None,
        *,
        kind: str = "colmap",
        source: str | None = None,
    ) -> None:
        """Store the cameras and SfM tracks of registered images, replacing any earlier scene.

        The two tables are rewritten, then the manifest's ``scene`` entry is written last: until it
        is, readers see no scene, so a write killed half-way is redone by the next run.

        Args:
            cameras: one pose per registered image (by file name), or None.
            tracks: observations per registered image file name, or None.
            kind: "colmap" or "nerfstudio" (recorded in the manifest).
            source: where the scene was read from (recorded in the manifest).
        """
        ids = {record.file_name: record.image_id for record in self.images()}
        names = [pose.file_name for pose in cameras or []] + list(tracks or {})
        unknown = [name for name in names if name not in ids]
        if unknown:
            raise SemlatError(
                f"scene names {len(unknown)} image(s) not registered in {self.root} (first: {unknown[0]}): register the images first"
            )
        self.manifest.scene = None
        self.save_manifest()
        pairs = [(ids[pose.file_name], pose) for pose in cameras or []]
        observed = [(ids[name], obs) for name, obs in (tracks or {}).items()]
        for name, schema, rows in (
            ("cameras", CAMERAS_SCHEMA, camera_rows(pairs)),
            ("observations", OBSERVATIONS_SCHEMA, observation_rows(observed)),
        ):
            table = self._table(name, schema)
            self.forget(name)
            with self.writing():
                table.delete("true")
                if rows.num_rows:
                    table.add(rows)
        self.manifest.scene = {
            "kind": kind,
            "source": source,
            "cameras": len(pairs),
            "tracks": tracks is not None,
            "observations": sum(len(obs.point3d_id) for _, obs in observed),
        }
        self.save_manifest()

    def has_tracks(self) -> bool:
        """Whether the workspace holds SfM tracks (a COLMAP scene's observations)."""
        return bool(self.manifest.scene and self.manifest.scene.get("tracks"))

    def observations(self, image_id: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """(xy (K, 2) float32, point3d_id (K,) int64) of one image's SfM observations; empty arrays when none."""
        rows = self._rows("observations", f"image_id = {int(image_id)}") if self.has_tracks() else pa.table({})
        return observations_from_rows(rows)

    def cameras(self) -> dict[int, CameraPose]:
        """Image id -> camera pose of every image the scene has one for (empty when there is no scene)."""
        if not self.manifest.scene:
            return {}

        def load() -> dict[int, CameraPose]:
            rows = self._rows("cameras").to_pylist()
            return {int(row["image_id"]): pose_from_row(row) for row in sorted(rows, key=lambda row: row["image_id"])}

        return dict(self.memo("cameras", "poses", load))

    # -- embeddings ----------------------------------------------------------------------
    def write_embeddings(
        self, key: FeatureKey, image_id: int, region_ids: Sequence[int], vectors: npt.NDArray[np.float32]
    ) -> None:
        """Store one image's vectors (whole image and regions) in a single commit."""
        dim = int(vectors.shape[1])
        self.check_embedding_dim(dim)
        if self.manifest.embedding_dim is None:
            self.manifest.embedding_dim = dim
            self.save_manifest()
        schema = embeddings_schema(dim)
        n = len(region_ids)
        rows = pa.table(
            {
                "region_set": pa.array([key.region_set] * n, pa.string()),
                "model_key": pa.array([key.model_key] * n, pa.string()),
                "feature_set": pa.array([key.feature_set] * n, pa.string()),
                "image_id": pa.array([image_id] * n, pa.int32()),
                "region_id": pa.array(list(region_ids), pa.int32()),
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)), dim
                ),
            },
            schema=schema,
        )
        where = feature_filter(key, [image_id])
        self._commit_unit(embeddings_stage(key), image_id, "embeddings", where, rows)

    def check_embedding_dim(self, dim: int) -> None:
        """Refuse vectors of another size than the workspace's (stages call it before recording a feature set)."""
        known_dim = self.manifest.embedding_dim
        if known_dim is not None and known_dim != dim:
            raise SemlatError(
                f"workspace {self.root} holds {known_dim}-d features and this model gives {dim}-d: use a new workspace for this model"
            )

    def embeddings(self, key: FeatureKey, image: ImageRecord) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """(region ids, vectors) of one image, sorted by region id (the whole image, -1, first)."""
        rows = self._rows(
            "embeddings",
            feature_filter(key, [image.image_id]),
            ["region_id", "vector"],
        )
        if rows.num_rows == 0:
            return np.zeros(0, np.int32), np.zeros((0, self.manifest.embedding_dim or 0), np.float32)
        ids = rows.column("region_id").to_numpy()
        vectors = rows.column("vector").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
        order = np.argsort(ids, kind="stable")
        return ids[order].astype(np.int32), vectors[order].astype(np.float32)

    def regions_and_features(self, key: FeatureKey, image: ImageRecord) -> tuple[list[Region], npt.NDArray[np.float32]]:
        """An image's regions and their (1+N, D) features, row 0 the whole image, checked to pair up."""
        regions = self.regions(key.region_set, image)
        ids, vectors = self.embeddings(key, image)
        if ids.tolist() != [WHOLE_IMAGE, *(region.region_id for region in regions)]:
            raise SemlatError(
                f"features {key} of image {image.file_name} do not match its {len(regions)} regions "
                f"({len(ids)} rows): run `semlat embed` for this region set"
            )
        return regions, vectors

    def feature_keys(self) -> list[FeatureKey]:
        return [FeatureKey(*name.split("/", 2)) for name in sorted(self.manifest.feature_sets)]

    def checked_key(self, key: FeatureKey | None = None) -> FeatureKey:
        """``key`` if the workspace holds it (else one clear error), or `feature_key` when it is None."""
        if key is None:
            return self.feature_key()
        if key not in self.feature_keys():
            known = ", ".join(map(str, self.feature_keys())) or "none"
            raise SemlatError(f"no features {key} in {self.root} (has: {known}): run `semlat embed` first or pick another")
        return key

    def feature_key(self, region_set: str | None = None, feature_set: str | None = None, model: str | None = None) -> FeatureKey:
        """The one feature key matching the filters: the resolver every stage and command uses.

        Args:
            region_set: only keys of this region set.
            feature_set: only keys of this feature set; when None and several keys match, the
                ``raw`` one (what `semlat embed` writes) is chosen if there is exactly one.
            model: a model key or its architecture name.
        """
        keys = [
            key
            for key in self.feature_keys()
            if region_set in (None, key.region_set)
            and feature_set in (None, key.feature_set)
            and model in (None, key.model_key, key.model_key.split(":")[0])
        ]
        if not keys and not self.images():
            raise SemlatError(f"workspace {self.root} has no images: run `semlat masks` or `semlat import original` first")
        if not keys:
            known = ", ".join(map(str, self.feature_keys())) or "none"
            raise SemlatError(f"no matching embeddings in {self.root} (has: {known}): run `semlat embed` first")
        if len(keys) > 1 and feature_set is None:
            raw = [key for key in keys if key.feature_set == "raw"]
            keys = raw if len(raw) == 1 else keys
        if len(keys) > 1:
            raise SemlatError(f"several feature sets match ({', '.join(map(str, keys))}): pick one with --region-set/--features")
        return keys[0]

    def check(self) -> dict[str, int]:
        """Read every table in full and check its rows against the images and the manifest (`semlat info --check`).

        Returns:
            Each table's row count. Anything broken is one `SemlatError` saying what (`semlat.workspace.doctor`).
        """
        counts = {name: self._rows(name).num_rows for name in self._table_names()}
        registered = {record.image_id for record in self.images()}
        for name in sorted(counts):
            ids = self._rows(name, None, ["image_id"]) if name != "images" and counts[name] else pa.table({})
            strangers = set(ids.column("image_id").to_pylist()) - registered if ids.num_rows else set()
            if strangers:
                raise doctor.damaged(self.root, f"table {name} has rows of {len(strangers)} image(s) that are not registered")
        claimed = {regions_stage(name) for name in self.manifest.region_sets}
        claimed |= {embeddings_stage(key) for key in self.feature_keys()}
        unknown = sorted(self._stages() - claimed)
        if unknown:
            raise doctor.damaged(self.root, f"the ledger lists work of {unknown[0]}, which the manifest does not record")
        table = self._table("embeddings")
        if table is not None:
            with doctor.reading(self.root, "embeddings"):
                dim = table.schema.field("vector").type.list_size
            if dim != self.manifest.embedding_dim:
                raise doctor.damaged(self.root, f"its vectors are {dim}-d but the manifest says {self.manifest.embedding_dim}")
        return counts

    def compact(self) -> None:
        """Merge the many small per-image commits so later reads stay fast."""
        if self._connection is None and not (self.root / DATABASE_NAME).is_dir():
            return
        for name in self._table_names():
            table = self._table(name)
            with self.writing():
                table.optimize()
