"""The viewer's state: bounded prompts, the text cache, the size-bounded caches, ids checked."""

from __future__ import annotations

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.scoring.prompts import MAX_PROMPT_CHARS, MAX_PROMPTS
from semlat.serve.viewer import CachedText, UnknownId, Viewer, _Lru, split_prompts


def test_prompts_are_split_stripped_deduplicated_and_bounded():
    assert split_prompts(" floor, red cube,floor ,, ") == ["floor", "red cube"]
    with pytest.raises(SemlatError, match="no prompts"):
        split_prompts(" , ")
    with pytest.raises(SemlatError, match="more than"):
        split_prompts(",".join(f"p{i}" for i in range(MAX_PROMPTS + 1)))
    with pytest.raises(SemlatError, match="longer than"):
        split_prompts("x" * (MAX_PROMPT_CHARS + 1))
    with pytest.raises(SemlatError, match="characters long"):
        split_prompts("x" * (MAX_PROMPTS * (MAX_PROMPT_CHARS + 1) + 1))


class _CountingEncoder:
    spec, device, image_size = "spec", "cpu", 8

    def __init__(self):
        self.seen: list[str] = []

    def encode_texts(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], np.float32)


def test_each_prompt_is_encoded_once():
    inner = _CountingEncoder()
    cached = CachedText(inner)
    first = cached.encode_texts(["floor", "wall"])
    again = cached.encode_texts(["wall", "floor", "cube"])
    assert inner.seen == ["floor", "wall", "cube"]
    np.testing.assert_array_equal(again[:2], first[::-1])


def test_the_cache_evicts_the_least_recently_used_by_size():
    cache = _Lru(100, size=lambda value: value.nbytes)
    made = []

    def make(n):
        made.append(n)
        return np.zeros(n, np.uint8)

    cache.get("a", lambda: make(60))
    cache.get("b", lambda: make(30))
    cache.get("a", lambda: make(60))  # a hit, and now the most recent
    cache.get("c", lambda: make(30))  # 120 bytes: b goes
    cache.get("a", lambda: make(60))
    cache.get("b", lambda: make(30))
    assert made == [60, 30, 30, 30]


def test_ids_are_checked(toy_workspace):
    viewer = Viewer(toy_workspace, device="cpu")
    assert viewer.record(0).image_id == 0
    with pytest.raises(UnknownId, match="no image 3"):
        viewer.record(3)
    with pytest.raises(UnknownId):
        viewer.crop(0, 10_000)
    with pytest.raises(UnknownId):
        viewer.label_views(-1)
    settings = viewer.settings("floor, wall")
    assert settings.prompts == ("floor", "wall") and settings.features == viewer.default_features()
    maps = viewer.maps(0, settings)
    assert viewer.maps(0, settings) is maps  # cached for the pictures that follow
    assert maps.shape == (2, viewer.record(0).height, viewer.record(0).width)
