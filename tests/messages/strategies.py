"""Hypothesis strategies for papers with hostile and very long text (cheap to generate)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck
from hypothesis import strategies as st

from bot.domain.papers import Author, Paper

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]

# Markdown characters, newlines, digits at line starts, emoji and long words are where limits
# go wrong; repeating a short piece makes long text without drawing thousands of characters.
_alphabet = st.sampled_from(list("ab cd\n\t*_~|`<>@[]#-:.1()/\\é😀$")) | st.characters()
short_texts = st.text(_alphabet, max_size=60)
long_texts = st.builds(
    lambda piece, n: piece * n, st.text(_alphabet, min_size=1, max_size=25), st.integers(1, 400)
)
texts = short_texts | long_texts
authors = st.lists(st.builds(Author, texts), max_size=6).map(tuple) | st.builds(
    lambda name, n: tuple(Author(f"{name} {i}") for i in range(n)), short_texts, st.integers(0, 150)
)

papers = st.builds(
    Paper,
    title=texts,
    authors=authors,
    abstract=texts,
    arxiv_id=st.none() | st.from_regex(r"\A[0-9]{4}\.[0-9]{5}\Z"),
    version=st.none() | st.integers(1, 99),
    categories=st.lists(st.sampled_from(["cs.CL", "cs.LG", "math.PR"]), max_size=5).map(tuple),
    published=st.none() | st.just(datetime(2024, 11, 28, tzinfo=UTC)),
    doi=st.none() | short_texts,
    journal_ref=st.none() | texts,
    url=st.none() | texts | st.just("https://example.org/a(b)"),
    pdf_url=st.none() | short_texts,
)
