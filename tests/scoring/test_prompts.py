"""Prompts as users write them: comma- or line-separated, stripped, without empties and repeats."""

import pytest

from semlat.errors import SemlatError
from semlat.scoring.prompts import parse_prompts


@pytest.mark.parametrize(
    ("text", "prompts"),
    [
        ("ceiling,ground,toilet paper", ["ceiling", "ground", "toilet paper"]),
        ("  ceiling , ground  ", ["ceiling", "ground"]),
        ("ceiling\nground\r\n\ntoilet paper\n", ["ceiling", "ground", "toilet paper"]),
        ("a, b\nc,,d", ["a", "b", "c", "d"]),
        ("chair,table,chair, table", ["chair", "table"]),  # repeats dropped, first order kept
        ("red box", ["red box"]),
    ],
)
def test_text_is_split_stripped_and_deduplicated(text, prompts):
    assert parse_prompts(text) == prompts


def test_a_file_is_read_like_the_text_and_wins_over_it(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("ceiling\nground, toilet paper\n", encoding="utf-8")
    assert parse_prompts(file=path) == ["ceiling", "ground", "toilet paper"]
    assert parse_prompts("other", path) == ["ceiling", "ground", "toilet paper"]


@pytest.mark.parametrize("text", [None, "", " , ", "\n\n", ",\n,"])
def test_no_prompts_is_one_error_saying_how_to_pass_them(text):
    with pytest.raises(SemlatError, match="no prompts given: pass --prompts 'ceiling,ground' or --prompts-file FILE"):
        parse_prompts(text)


def test_an_unreadable_prompts_file_is_one_error_naming_it(tmp_path):
    with pytest.raises(SemlatError, match="cannot read prompts file .*none.txt") as error:
        parse_prompts("a", tmp_path / "none.txt")
    assert "\n" not in str(error.value)
    with pytest.raises(SemlatError, match="cannot read prompts file"):
        parse_prompts(file=tmp_path)  # a folder
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(SemlatError, match="no prompts given"):
        parse_prompts(file=tmp_path / "empty.txt")


def test_prompts_are_bounded_in_count_and_length():
    from semlat.scoring.prompts import MAX_PROMPT_CHARS, MAX_PROMPTS, check_prompts

    assert check_prompts(["p"] * MAX_PROMPTS) == ["p"] * MAX_PROMPTS
    with pytest.raises(SemlatError, match=f"{MAX_PROMPTS + 1} prompts given"):
        check_prompts(["p"] * (MAX_PROMPTS + 1))
    with pytest.raises(SemlatError, match=f"longer than {MAX_PROMPT_CHARS}"):
        check_prompts(["ok", "x" * (MAX_PROMPT_CHARS + 1)])
