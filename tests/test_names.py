"""Derived file names: one component, bounded, distinct, never a name semlat writes itself."""

from __future__ import annotations

import pytest

from semlat.names import MAX_NAME_BYTES, is_safe_name, safe_name, unique_names


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("toilet paper", "toilet-paper"),
        ("  Ceiling ", "ceiling"),
        ("a/b: c", "a-b-c"),
        ("a/../b", "a-.-b"),
        ("..", "prompt"),
        ("...", "prompt"),
        (".hidden", "hidden"),
        ("", "prompt"),
        ("!!", "prompt"),
        ("日本", "日本"),
        ("Ñ", "ñ"),
        ("back\\slash\0nul", "back-slash-nul"),
    ],
)
def test_safe_name(text, name):
    assert safe_name(text, fallback="prompt", lower=True) == name
    assert is_safe_name(name)


def test_image_stems_keep_their_case_and_underscores():
    assert safe_name("View_00", fallback="image") == "View_00"


def test_long_texts_are_cut_and_stay_apart():
    long_a, long_b = "日" * 200 + "a", "日" * 200 + "b"
    a, b = safe_name(long_a, fallback="p"), safe_name(long_b, fallback="p")
    assert a != b and len(a.encode()) <= MAX_NAME_BYTES and len(b.encode()) <= MAX_NAME_BYTES
    assert a.startswith("日" * 20)


def test_unique_names_suffix_collisions_case_insensitively_and_avoid_reserved():
    names = unique_names(
        ["red cube", "red-cube", "RED CUBE!", "red cube 2", "segmentation", "Segmentation"],
        fallback="prompt",
        lower=True,
        reserved=["segmentation"],
    )
    assert names == ["red-cube", "red-cube-2", "red-cube-3", "red-cube-2-2", "segmentation-2", "segmentation-3"]
    assert unique_names(["a", "A", "a"], fallback="image") == ["a", "A-2", "a-3"]


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "nul\0", "x" * 256])
def test_unsafe_names(name):
    assert not is_safe_name(name)
