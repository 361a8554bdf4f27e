"""Files a region set keeps next to the database: atomic writes, damaged files read as missing."""

import numpy as np

from semlat.regions import cache as cache_files


def test_atomic_files_never_leave_partial_ones(tmp_path):
    path = tmp_path / "a" / "x.npy"
    cache_files.save_npy(path, np.arange(5, dtype=np.float16))
    np.testing.assert_array_equal(cache_files.load_npy(path), np.arange(5))
    path.write_bytes(b"garbage")
    assert cache_files.load_npy(path) is None
    assert [p.name for p in path.parent.iterdir()] == ["x.npy"]


def test_npz_files_read_back_whole_or_not_at_all(tmp_path):
    path = tmp_path / "state.npz"
    cache_files.save_npz(path, grids=np.zeros((2, 4), np.int16), fingerprint=np.array("abc"))
    loaded = cache_files.load_npy(path)
    assert sorted(loaded) == ["fingerprint", "grids"] and str(loaded["fingerprint"]) == "abc"
    path.write_bytes(path.read_bytes()[:40])
    assert cache_files.load_npy(path) is None


def test_cache_paths_are_file_name_safe_and_latents_shared_by_region_sets(tmp_path):
    region_dir = cache_files.region_cache_dir(tmp_path, "my set/1")
    assert region_dir == tmp_path / "cache" / "regions" / "my_set_1"
    assert cache_files.latents_dir(region_dir, "m") == tmp_path / "cache" / "latents" / "m"
    assert cache_files.latents_dir(cache_files.region_cache_dir(tmp_path, "other"), "m") == tmp_path / "cache" / "latents" / "m"
    assert cache_files.descriptors_path(region_dir, 7) == region_dir / "descriptors" / "7.npy"
