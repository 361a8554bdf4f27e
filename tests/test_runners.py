"""Ray runs the stages' per-image work in actors and gives what the local loop gives."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.runners import make_runner

ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')


class _Affine:
    def __init__(self, scale: int) -> None:
        self.scale = scale

    def __call__(self, item: int) -> dict[str, int]:
        return {"value": self.scale * item + 1}


class _RefusesThree(_Affine):
    def __call__(self, item: int) -> dict[str, int]:
        if item == 3:
            raise SemlatError("item 3 is corrupt: replace it")
        return super().__call__(item)


class _FailsOnThree(_Affine):
    def __call__(self, item: int) -> dict[str, int]:
        if item == 3:
            raise ZeroDivisionError("a bug")
        return super().__call__(item)


@pytest.fixture(scope="module")
def runner():
    return make_runner("local")


def test_every_item_comes_back_once_with_its_workers_result(runner):
    results = dict(runner.map(_Affine, (3,), list(range(7))))
    assert results == {item: {"value": 3 * item + 1} for item in range(7)}
    assert list(runner.map(_Affine, (3,), [])) == []


def test_bad_input_in_a_worker_is_the_drivers_one_line_and_a_bug_keeps_its_traceback(runner):
    seen = []
    with pytest.raises(SemlatError, match=r"^item 3 is corrupt: replace it$"):
        for item, _ in runner.map(_RefusesThree, (3,), list(range(7))):
            seen.append(item)
    assert 3 not in seen
    with pytest.raises(ray.exceptions.RayError) as raised:
        list(runner.map(_FailsOnThree, (3,), list(range(7))))
    assert not isinstance(raised.value, SemlatError) and "ZeroDivisionError" in str(raised.value)


def test_masks_on_ray_write_what_the_local_loop_writes(runner, tmp_path, images_dir):
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    local = Workspace.open_or_create(tmp_path / "local")
    propose_regions(local, images_dir, backend="classical")
    remote = Workspace.open_or_create(tmp_path / "ray")
    result = propose_regions(remote, images_dir, backend="classical", runner=runner)
    assert result.n_written == 3
    for record in local.images():
        ours = [(r.rle, r.level) for r in remote.regions("classical", remote.image(record.file_name))]
        assert ours == [(r.rle, r.level) for r in local.regions("classical", record)]
    assert propose_regions(Workspace.open(tmp_path / "ray"), images_dir, backend="classical", runner=runner).n_written == 0


def test_a_mode_that_fits_over_all_images_refuses_ray_before_any_write(runner, tmp_path, images_dir):
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    with pytest.raises(SemlatError, match="without --ray"):
        propose_regions(
            Workspace.open_or_create(tmp_path / "ws"), images_dir, backend="mobile-sam", mode="clustered", runner=runner
        )
    assert not (tmp_path / "ws").exists()


def test_without_ray_installed_the_cli_says_how_to_get_it(cli, tmp_path, images_dir, monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    code, _, err = cli("masks", images_dir, "-w", tmp_path / "ws", "--backend", "classical", "--ray", "local")
    assert code == 2 and 'pip install -e ".[ray]"' in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()


def test_embed_on_ray_gives_the_local_vectors(runner, tmp_path, images_dir, tiny_checkpoint):
    from semlat.encoders import model_spec
    from semlat.stages.embed import embed_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    spec = model_spec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical")
    local = embed_regions(ws, model=spec, feature_set="local", device="cpu")
    remote = embed_regions(ws, model=spec, feature_set="ray", device="cpu", runner=runner)
    for record in ws.images():
        ids, vectors = ws.embeddings(local, record)
        ray_ids, ray_vectors = ws.embeddings(remote, record)
        assert list(ray_ids) == list(ids)
        np.testing.assert_allclose(ray_vectors, vectors, atol=1e-5)  # other processes may use other thread counts


def test_an_image_corrupted_mid_ray_run_is_one_line_and_the_rerun_resumes(runner, tmp_path, images_dir, tiny_checkpoint):
    from pathlib import Path

    from semlat.encoders import model_spec
    from semlat.stages.embed import embed_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    spec = model_spec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=4)
    local = embed_regions(ws, model=spec, feature_set="local", device="cpu")
    victim = ws.images()[1]
    good = Path(victim.path).read_bytes()
    Path(victim.path).write_bytes(good[: len(good) // 3])
    with pytest.raises(SemlatError, match=r"view_01\.png cannot be read"):
        embed_regions(ws, model=spec, feature_set="ray", device="cpu", runner=runner)
    Path(victim.path).write_bytes(good)
    resumed = Workspace.open(tmp_path / "ws")
    remote = embed_regions(resumed, model=spec, feature_set="ray", device="cpu", runner=runner)
    for image in resumed.images():
        np.testing.assert_allclose(resumed.embeddings(remote, image)[1], resumed.embeddings(local, image)[1], atol=1e-5)


class _Killed(BaseException):
    """What a kill of the driver looks like to the stage: it stops between two commits."""


def test_a_ray_run_killed_after_a_commit_resumes_to_the_uninterrupted_workspace(
    runner, tmp_path, images_dir, tiny_checkpoint, monkeypatch
):
    from semlat.encoders import model_spec
    from semlat.stages.embed import embed_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    spec = model_spec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=4)
    local = embed_regions(ws, model=spec, feature_set="local", device="cpu")
    write = Workspace.write_embeddings

    def write_then_die(self, key, image_id, region_ids, vectors):
        write(self, key, image_id, region_ids, vectors)
        raise _Killed

    monkeypatch.setattr(Workspace, "write_embeddings", write_then_die)
    with pytest.raises(_Killed):
        embed_regions(ws, model=spec, feature_set="ray", device="cpu", runner=runner)
    monkeypatch.undo()
    resumed = Workspace.open(tmp_path / "ws")
    remote = embed_regions(resumed, model=spec, feature_set="ray", device="cpu", runner=runner)  # the pool was let go
    for image in resumed.images():
        ids, vectors = resumed.embeddings(remote, image)
        assert list(ids) == list(resumed.embeddings(local, image)[0])
        np.testing.assert_allclose(vectors, resumed.embeddings(local, image)[1], atol=1e-5)
