"""Arbitrary text through the parser and the search path, on SQLite and PostgreSQL, through the
database's search and through the tantivy index.

Whatever people type ends in a QueryError with a message or in well-formed results: never a
database error, never another exception. The catalog is the first 300 papers of the real RSS
snapshot, loaded once per backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.domain.papers import Paper
from bot.domain.query import QueryError, parse_query
from bot.domain.search import ResultSlice
from storage.fulltext import TantivySearch
from storage.search import SqlSearch
from tests.storage.test_search_relevance import BACKENDS, load_fixture_search

TODAY = date(2024, 11, 29)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PIECES = [
    # query syntax and FTS5 / tsquery syntax
    '"',
    "(",
    ")",
    "*",
    "-",
    ":",
    "{",
    "}",
    "^",
    "+",
    "&",
    "|",
    "!",
    "<->",
    "<2>",
    "'",
    "\\",
    "OR",
    "AND",
    "NOT",
    "NEAR",
    "NEAR(",
    "NEAR/2",
    "or",
    "not",
    "title:",
    "author:",
    "au:",
    "abstract:",
    "org:",
    "cat:",
    "id:",
    "since:",
    "until:",
    "year:",
    "sort:",
    "all:",
    "ti:",
    "{title}:",
    "authors_folded:",
    "abstract :",
    "rank:",
    "cat:cs",
    "cat:cs.CL",
    "cat:hep-th",
    "id:2411.17700",
    "since:7d",
    "year:2024",
    "sort:recent",
    "2411.17971",
    "transform*",
    "gra*",
    "a*",
    "*",
    # words from the catalog, stop-words
    "graph",
    "neural",
    "network",
    "quantum",
    "dark",
    "matter",
    "the",
    "of",
    "a",
    "will",
    "schrödinger",
    "Hintón",
    "e.g.",
    "gpt-4",
    "c++",
    "o'brien",
    "3d",
    # emoji, right-to-left, zero-width, combining, CJK, full-width, controls
    "🚀",
    "👩\u200d🔬",
    "שלום",
    "مرحبا",
    "\u200b",
    "\u200d",
    "\u202e",
    "\ufeff",
    "e\u0301",
    "深度学习",
    "ｇｒａｐｈ",
    "\x00",
    "\t",
    "\n",
    "\ud7ff",
]

query_texts = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.text(max_size=6)),
        max_size=40,
    ).map(lambda parts: " ".join(parts)),
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.text(max_size=2000),
)


Search = SqlSearch | TantivySearch


@pytest.fixture(scope="module", params=BACKENDS)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Search]:
    yield from load_fixture_search(
        request.param, tmp_path_factory.mktemp("properties"), papers_limit=300
    )


def _well_formed(found: ResultSlice, limit: int) -> None:
    assert isinstance(found, ResultSlice)
    assert len(found.hits) <= limit
    assert found.total >= len(found.hits)
    keys = [h.paper.key for h in found.hits]
    assert len(keys) == len(set(keys))
    for hit in found.hits:
        assert isinstance(hit.paper, Paper)
        assert isinstance(hit.score, float) and math.isfinite(hit.score)


@SETTINGS
@given(text=query_texts, page=st.integers(min_value=0, max_value=3))
@example(text="x" * 2000, page=0)
@example(text=" ".join(["graph"] * 250), page=0)
@example(text="(" * 11 + "graph" + ")" * 11, page=0)
@example(text='"unbalanced', page=0)
@example(text="NEAR(graph neural, 3)", page=0)
@example(text='{title abstract}: graph OR "a" * ^b', page=0)
@example(text="the of a -the", page=1)
@example(text="cat:cs -graph -neural -the", page=0)
@example(text="author:will author:an", page=0)
def test_any_text_gives_results_or_a_clear_message(search: Search, text: str, page: int) -> None:
    try:
        query = parse_query(text, today=TODAY)
    except QueryError as exc:
        assert exc.message
        return
    limit = 5
    try:
        found = search.search(query, limit=limit, offset=page * limit)
    except QueryError as exc:
        assert exc.message and "\n" not in exc.message
        return
    _well_formed(found, limit)


@SETTINGS
@given(name=st.one_of(st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join), st.text()))
@example(name="Hinton G")
@example(name="o'brien")
@example(name="%_%")
def test_any_author_name_gives_results_or_a_clear_message(search: Search, name: str) -> None:
    try:
        found = search.by_author(name, limit=5, offset=0)
    except QueryError as exc:
        assert exc.message
        return
    _well_formed(found, 5)


@SETTINGS
@given(category=st.one_of(st.none(), st.sampled_from(["cs", "cs.CL", "hep-th", "x"]), st.text()))
def test_any_category_gives_results_or_a_clear_message(
    search: Search, category: str | None
) -> None:
    try:
        found = search.recent(category, limit=5, offset=0)
    except QueryError as exc:
        assert exc.message
        return
    _well_formed(found, 5)
