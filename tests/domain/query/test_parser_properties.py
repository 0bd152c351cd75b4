"""Properties over arbitrary input: the parser only ever returns a Query or raises QueryError,
its trees keep the documented shape, canonical() round-trips and matches() never raises."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.domain.papers import Author, Paper, fold
from bot.domain.query import (
    MAX_QUERY_LENGTH,
    And,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    QueryError,
    Term,
    candidate_terms,
    canonical,
    describe,
    matches,
    parse_query,
    tokenize,
)
from bot.domain.query.parser import _clean_with_positions, clean_text

TODAY = date(2024, 11, 28)
NOW = datetime(2024, 11, 28, 12, tzinfo=UTC)

# Characters a search box sees in practice plus the ones that break naive parsers.
NASTY = [
    '"', "“", "”", "(", ")", ":", "*", "-", "^", "{", "}", " ", "\t", "\n", ".", "+", "/",
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202e", "\ufeff", "\u00ad", "\ufe0f",
    "🚀", "👩‍🔬", "🇫🇷", "ال", "עברית", "é", "e\u0301", "ß", "İ", "Ｏ", "（", "：", "\x00", "\x7f",
]  # fmt: skip
PARTS = [
    "a", "model", "models", "graph", "the", "OR", "AND", "NOT", "or", "-", "--", "(", ")", '"',
    "*", "mod*", "ab*", "title:", "author:", "abstract:", "org:", "cat:", "cat:cs", "cat:cs.CL",
    "id:", "id:2403.05530", "2403.05530", "since:", "since:7d", "since:2024-11", "until:1m",
    "year:2020-2023", "year:2024", "sort:recent", "sort:relevance", "autor:", "NEAR", "{title}:",
    "^", "🚀", "\u200d", "ال", " ", " ", " ",
]  # fmt: skip


def texts(max_size: int) -> st.SearchStrategy[str]:
    # Some NASTY entries are several code points (ZWJ emoji, e + combining accent).
    pieces = st.lists(st.one_of(st.sampled_from(NASTY), st.characters()), max_size=max_size)
    return pieces.map(lambda p: "".join(p)[:max_size])


arbitrary_text = texts(2000)
query_like = st.lists(st.sampled_from(PARTS), max_size=40).map("".join) | st.lists(
    st.sampled_from(PARTS), max_size=30
).map(" ".join)


def parse_or_none(text: str) -> Query | None:
    try:
        return parse_query(text, today=TODAY)
    except QueryError as exc:
        assert exc.message
        assert exc.position is None or 0 <= exc.position <= len(text)
        return None


def check_shape(node: Node, *, in_or: bool = False) -> bool:
    """Checks the documented tree shape; returns whether ``node`` is positive."""
    if isinstance(node, Term):
        assert node.text and tokenize(node.text) == [node.text]
        assert fold(node.text) == node.text
        return True
    if isinstance(node, Phrase):
        assert len(node.words) >= 2
        assert all(tokenize(w) == [w] for w in node.words)
        return True
    if isinstance(node, Not):
        assert not isinstance(node.child, Not)
        check_shape(node.child)
        return False
    assert len(node.children) >= 2
    assert not any(type(c) is type(node) for c in node.children)
    positives = [check_shape(c) for c in node.children]
    if isinstance(node, Or):
        assert all(positives)
        return True
    assert isinstance(node, And)
    return any(positives)


def check(q: Query, text: str) -> None:
    assert q.raw == text
    assert q.text_tree is not None or q.filters
    if q.text_tree is not None:
        positive = check_shape(q.text_tree)
        assert positive or q.filters
    assert isinstance(describe(q), str) and describe(q)
    again = parse_query(canonical(q), today=TODAY)
    assert (again.text_tree, again.filters, again.sort, again.broad) == (
        q.text_tree,
        q.filters,
        q.sort,
        q.broad,
    )
    candidate_terms(q)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_text)
def test_arbitrary_text_parses_or_raises_query_error(text: str) -> None:
    q = parse_or_none(text)
    if q is not None:
        check(q, text)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(query_like)
def test_query_like_text_parses_or_raises_query_error(text: str) -> None:
    q = parse_or_none(text)
    if q is not None:
        check(q, text)


@given(st.text(min_size=MAX_QUERY_LENGTH + 1, max_size=2000))
def test_anything_over_the_limit_is_too_long(text: str) -> None:
    assume(len(text.strip()) > MAX_QUERY_LENGTH)
    try:
        parse_query(text)
    except QueryError as exc:
        assert exc.message.startswith("too long")
    else:
        raise AssertionError("accepted an over-long query")


text_field = texts(200)
arbitrary_papers = st.builds(
    Paper,
    title=text_field,
    abstract=text_field,
    authors=st.lists(
        st.builds(Author, text_field, st.lists(text_field, max_size=2).map(tuple)), max_size=3
    ).map(tuple),
    arxiv_id=st.none() | text_field,
    categories=st.lists(text_field, max_size=3).map(tuple),
    published=st.none() | st.datetimes(timezones=st.none() | st.just(UTC)),
    updated=st.none() | st.datetimes(),
    doi=st.none() | text_field,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(query_like, arbitrary_papers)
def test_matches_never_raises(text: str, paper: Paper) -> None:
    q = parse_or_none(text)
    if q is not None:
        assert matches(q, paper, now=NOW) in (True, False)


@given(arbitrary_text)
def test_tokens_are_folded_alphanumeric_runs(text: str) -> None:
    for token in tokenize(text):
        assert token and all(c.isalnum() for c in token)
        assert tokenize(token) == [token]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(NASTY),
            st.sampled_from(PARTS),
            st.characters(exclude_categories=()),  # any code point: surrogates, controls too
            st.text(max_size=5),
        ),
        max_size=12,
    ).map("".join)
)
def test_clean_text_is_the_positions_cleaner_without_positions(text: str) -> None:
    # clean_text leaves printable ASCII to the regex engine; the character rule is the same.
    assert clean_text(text) == _clean_with_positions(text)[0]
