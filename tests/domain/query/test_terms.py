"""candidate_terms(): a cover of keys every matching paper contains, and its use by the matcher."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.papers import Author, Paper
from bot.domain.query import (
    And,
    Not,
    Or,
    Query,
    QueryError,
    Term,
    candidate_terms,
    cover_hit,
    matches,
    paper_keys,
    parse_query,
)

TODAY = date(2024, 11, 28)


def cover(text: str, df: dict[str, int] | None = None) -> frozenset[str] | None:
    freq = None if df is None else (lambda key: df.get(key, 0))
    return candidate_terms(parse_query(text, today=TODAY), freq)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("transformer", {"transformer"}),
        ("models", {"model"}),  # stems, like the paper side
        ("transform*", {"transform*"}),
        ('"large language models"', {"languag"}),  # the rarest-looking word of the phrase
        ("a OR b", {"a", "b"}),
        ('"long context" OR "million tokens"', {"context", "million"}),
        ("(a OR b) (c OR d)", {"a", "b"}),
        ("-survey transformer", {"transformer"}),
        ("the transformer", {"transformer"}),  # a stop-word is a poor choice
        ("the", {"the"}),  # ...but the only one here
        ("title:graph", {"graph"}),
        ("author:hinton", {"hinton"}),  # a full word alone is in the name itself
        ("author:g", {"g*"}),  # an initial matches any name starting with it
        ("author:hin*", {"hin*"}),
        ('author:"hinton g"', {"hinton"}),  # the one full word is in the name itself
        ('author:"geoffrey hinton"', {"geoffrey", "hinton"}),  # one of them is
        ("transformer cat:cs.CL", {"transformer"}),
    ],
)
def test_cover(query: str, expected: set[str]) -> None:
    assert cover(query) == frozenset(expected)


@pytest.mark.parametrize(
    "query", ["cat:cs.CL", "id:2403.05530", "since:7d", "cat:cs -survey", "cat:cs -(a b)"]
)
def test_filters_and_exclusions_alone_have_no_cover(query: str) -> None:
    assert cover(query) is None


def test_an_or_with_an_uncoverable_side_has_no_cover() -> None:
    # The parser never builds this (an exclusion can't be one side of OR); a hand-built tree can.
    assert candidate_terms(Query(Or((Term("a"), Not(Term("b")))))) is None
    assert candidate_terms(Query(And((Not(Term("b")), Or((Term("a"), Term("c"))))))) == {"a", "c"}


def test_document_frequency_picks_the_most_selective_side() -> None:
    df = {"common": 10_000, "zebra": 3, "model": 50_000, "graph": 400}
    assert cover("common zebra", df) == {"zebra"}
    assert cover("zebra common", df) == {"zebra"}
    assert cover('"common zebra"', df) == {"zebra"}
    # OR sides add up: 10_003 is still fewer candidates than model's 50_000.
    assert cover("(common OR zebra) model", df) == {"common", "zebra"}
    assert cover("(common OR model) graph", df) == {"graph"}


def test_document_frequency_sees_prefix_markers() -> None:
    seen: list[str] = []

    def df(key: str) -> int:
        seen.append(key)
        return 1 if key == "graph*" else 100

    assert candidate_terms(parse_query("graph* neural"), df) == {"graph*"}
    assert "graph*" in seen


def test_paper_keys_and_cover_hit() -> None:
    paper = Paper(
        title="Training Graph Networks",
        abstract="Studies of message passing.",
        authors=(Author("G. Hinton", ("DeepMind",)),),
    )
    keys = paper_keys(paper)
    assert {"training", "train", "graph", "networks", "network", "studies", "study"} <= keys
    assert {"g", "hinton", "deepmind"} <= keys
    assert cover_hit({"train"}, keys)
    assert cover_hit({"absent", "graph"}, keys)
    assert cover_hit({"netw*"}, keys)
    assert not cover_hit({"absent", "nothing*"}, keys)
    assert not cover_hit(set(), keys)


# --- soundness: a paper the query matches always hits its cover ---------------------------------

VOCAB = ["model", "models", "modeling", "graph", "net", "network", "the", "g", "hinton", "geoffrey"]
QUERY_PARTS = [
    *VOCAB,
    "OR",
    "-",
    "(",
    ")",
    '"',
    "mod*",
    "netw*",
    "author:",
    "title:",
    "org:",
    "abstract:",
    "cat:cs",
    " ",
]

words = st.lists(st.sampled_from(VOCAB), max_size=6).map(" ".join)
papers = st.builds(
    Paper,
    title=words,
    abstract=words,
    authors=st.lists(
        st.builds(Author, words, st.lists(words, max_size=2).map(tuple)), max_size=3
    ).map(tuple),
    categories=st.just(("cs.LG",)),
)
queries = st.lists(st.sampled_from(QUERY_PARTS), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(queries, papers)
def test_every_matching_paper_hits_the_cover(text: str, paper: Paper) -> None:
    try:
        q = parse_query(text, today=TODAY)
    except QueryError:
        return
    if not matches(q, paper):
        return
    c = candidate_terms(q)
    assert c is None or cover_hit(c, paper_keys(paper))
