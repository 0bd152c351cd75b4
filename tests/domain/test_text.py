"""Message shaping helpers: shortening, author lines, chunking, plurals, LaTeX cleanup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import (
    chunk_lines,
    collapse_ws,
    latex_to_text,
    plural,
    shorten,
    shorten_authors,
)

# Text with plenty of whitespace, punctuation and long words, where cuts get interesting.
_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12
)
_texty = st.lists(
    st.one_of(
        _words, st.sampled_from([" ", "  ", "\n", ",", ".", "…", "-", "(", "supercalifragilistic"])
    ),
    max_size=40,
).map("".join)


# --- shorten -----------------------------------------------------------------------------


def test_shorten_returns_fitting_text_unchanged() -> None:
    assert shorten("short text", 10) == "short text"
    assert shorten("", 5) == ""


def test_shorten_cuts_at_word_boundary() -> None:
    assert shorten("hello world foo", 10) == "hello…"
    assert shorten("hello world foo", 12) == "hello world…"


def test_shorten_keeps_a_word_that_ends_exactly_at_the_cut() -> None:
    assert shorten("alpha beta gamma", 11) == "alpha beta…"


def test_shorten_cuts_a_single_long_word() -> None:
    assert shorten("abcdefghijkl", 5) == "abcd…"
    assert shorten("https://example.org/a/very/long/path", 12) == "https://exa…"


def test_shorten_drops_dangling_punctuation_before_the_ellipsis() -> None:
    assert shorten("results, and more words here", 12) == "results…"


def test_shorten_custom_ellipsis_and_tiny_limits() -> None:
    assert shorten("hello world foo", 10, ellipsis="...") == "hello..."
    assert shorten("hello world", 2, ellipsis="...") == "he"
    assert shorten("hello world", 1) == "…"
    assert shorten("hello world", 0) == ""


@given(_texty, st.integers(min_value=1, max_value=80), st.sampled_from(["…", "...", "", " [+]"]))
def test_shorten_never_exceeds_limit_and_is_a_prefix(text: str, limit: int, ellipsis: str) -> None:
    out = shorten(text, limit, ellipsis=ellipsis)
    assert len(out) <= limit
    if out == text:
        return
    if ellipsis and out.endswith(ellipsis) and len(ellipsis) <= limit:
        head = out[: len(out) - len(ellipsis)]
    else:
        head = out
    assert text.startswith(head)


@given(_texty, st.integers(min_value=2, max_value=80))
def test_shorten_only_cuts_mid_word_when_one_word_fills_the_limit(text: str, limit: int) -> None:
    out = shorten(text, limit)
    if out == text or not out.endswith("…"):
        return
    head = out[:-1]
    if head and text[len(head)].isalnum() and head[-1].isalnum():
        # A mid-word cut: only allowed when no whitespace precedes it.
        assert not any(c.isspace() for c in head.strip())


# --- shorten_authors ---------------------------------------------------------------------


def test_shorten_authors_lists_up_to_max_names() -> None:
    names = ["Alice Smith", "Bob Jones", "Carol Wu", "Dan Brown"]
    assert shorten_authors(names, 100) == "Alice Smith, Bob Jones, Carol Wu et al."
    assert shorten_authors(names[:3], 100) == "Alice Smith, Bob Jones, Carol Wu"
    assert shorten_authors(names, 100, max_names=1) == "Alice Smith et al."


def test_shorten_authors_drops_names_to_fit() -> None:
    names = ["Alice Smith", "Bob Jones", "Carol Wu", "Dan Brown"]
    assert shorten_authors(names, 30) == "Alice Smith, Bob Jones et al."
    assert shorten_authors(names, 18) == "Alice Smith et al."


def test_shorten_authors_shortens_a_long_single_name() -> None:
    out = shorten_authors(["Maximilian Alexander von Humboldt-Zwiebelhausen"], 20)
    assert len(out) <= 20
    assert out.startswith("Maximilian")


def test_shorten_authors_edge_cases() -> None:
    assert shorten_authors([], 50) == ""
    assert shorten_authors(["  ", ""], 50) == ""
    assert shorten_authors(["A  B\n C"], 50) == "A B C"
    assert shorten_authors(["Alice"], 0) == ""


@given(st.lists(_texty, max_size=8), st.integers(min_value=0, max_value=60), st.integers(0, 5))
def test_shorten_authors_always_within_limit(names: list[str], limit: int, max_names: int) -> None:
    assert len(shorten_authors(names, limit, max_names=max_names)) <= limit


# --- chunk_lines -------------------------------------------------------------------------


def test_chunk_lines_packs_in_order() -> None:
    assert chunk_lines(["aa", "bb", "cc"], 5) == ["aa\nbb", "cc"]
    assert chunk_lines(["aa", "bb", "cc"], 100) == ["aa\nbb\ncc"]


def test_chunk_lines_shortens_an_overlong_line() -> None:
    chunks = chunk_lines(["short", "a line that is far too long for the limit"], 12)
    assert chunks == ["short", "a line that…"]


def test_chunk_lines_drops_blank_lines_at_chunk_edges() -> None:
    assert chunk_lines(["a", "", "bb", "ccc", " ", "dddd"], 5) == ["a\n\nbb", "ccc", "dddd"]
    assert chunk_lines(["", "  ", ""], 10) == []
    assert chunk_lines([], 10) == []


def test_chunk_lines_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError):
        chunk_lines(["a"], 0)


_line = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\n"),
    max_size=30,
)


@given(st.lists(_line, max_size=30), st.integers(min_value=1, max_value=120))
def test_chunk_lines_never_exceeds_limit(lines: list[str], limit: int) -> None:
    chunks = chunk_lines(lines, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert all(c.strip() for c in chunks)


@given(st.lists(_line, max_size=30), st.integers(min_value=30, max_value=120))
def test_chunk_lines_loses_no_line_when_lines_fit(lines: list[str], limit: int) -> None:
    chunks = chunk_lines(lines, limit)
    kept = [line for chunk in chunks for line in chunk.split("\n") if line.strip()]
    assert kept == [line for line in lines if line.strip()]


# --- small helpers -----------------------------------------------------------------------


def test_collapse_ws() -> None:
    assert collapse_ws("  a \n\t b\u00a0c  ") == "a b c"
    assert collapse_ws("") == ""


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (1, "paper", "1 paper"),
        (0, "paper", "0 papers"),
        (2, "paper", "2 papers"),
        (3, "study", "3 studies"),
        (2, "day", "2 days"),
        (2, "match", "2 matches"),
        (2, "new paper", "2 new papers"),
        (2, "LLM", "2 LLMs"),
    ],
)
def test_plural(n: int, word: str, expected: str) -> None:
    assert plural(n, word) == expected


def test_plural_irregular() -> None:
    assert plural(2, "index", many="indices") == "2 indices"
    assert plural(1, "index", many="indices") == "1 index"


# --- latex_to_text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"a $\alpha$-stable law", "a α-stable law"),
        (r"an improvement of $20\%$", "an improvement of 20%"),
        (r"the $1\times1$ layer", "the 1×1 layer"),
        (r"Schr\"odinger and Erd\H{o}s", "Schrödinger and Erdős"),
        (r"Gravita\c{c}\~ao", "Gravitação"),
        (r"\emph{very} \textbf{bold}", "very bold"),
        (r"NdTa$_7$O$_{19}$", "NdTa₇O₁₉"),
        (r"$10^{39}$ erg", "10³⁹ erg"),
        (r"$\mathbb{R}^4$", "ℝ⁴"),
        ("Artemis~1 mission", "Artemis 1 mission"),
        ("Young--Fibonacci", "Young–Fibonacci"),
        (r"code \href{https://github.com/x/y}{here}.", "code here."),
        ("see https://example.org/a--b~c", "see https://example.org/a--b~c"),
        ("plain  text\nonly", "plain text only"),
    ],
)
def test_latex_to_text(raw: str, expected: str) -> None:
    assert latex_to_text(raw) == expected


@given(st.text(max_size=200))
def test_latex_to_text_never_raises(text: str) -> None:
    latex_to_text(text)
