"""The topic percolator gives exactly what testing every topic against every paper gives."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.matching import KeyStats, TopicIndex, match_brute, owners_by_paper
from bot.domain.papers import Paper
from bot.domain.query import Query, QueryError, parse_query, tokenize

FIXTURE = Path(__file__).parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
NOW = datetime(2024, 11, 30, 12, 0, tzinfo=UTC)


@functools.cache
def papers() -> tuple[Paper, ...]:
    return tuple(parse_arxiv_rss(FIXTURE.read_bytes()).papers)


@functools.cache
def stats() -> KeyStats:
    return KeyStats.from_papers(papers())


@functools.cache
def vocabulary() -> dict[str, tuple[str, ...]]:
    """Words, title bigrams, name words and categories of the fixture, sorted (deterministic)."""
    rng = random.Random(7)
    sample = rng.sample(papers(), 120)
    words: set[str] = set()
    bigrams: set[str] = set()
    longer: set[str] = set()
    names: set[str] = set()
    for p in sample:
        title = tokenize(p.title)
        words.update(w for w in title + tokenize(p.abstract)[:40] if w.isalpha())
        bigrams.update(f"{a} {b}" for a, b in pairwise(title))
        for k in (3, 5):  # phrases the batch matcher looks up whole, and longer ones
            longer.update(" ".join(title[i : i + k]) for i in range(len(title) - k + 1))
        for author in p.authors[:2]:
            names.update(tokenize(author.name))
    return {
        "words": tuple(sorted(words)),
        "long": tuple(sorted(w for w in words if len(w) >= 6)),
        "bigrams": tuple(sorted(bigrams)),
        "longer": tuple(sorted(longer)),
        "names": tuple(sorted(names)),
        "categories": tuple(sorted({c for p in papers() for c in p.categories})),
        "ids": tuple(p.arxiv_id or "" for p in sample[:10]),
    }


def _leaf() -> st.SearchStrategy[str]:
    v = vocabulary()
    return st.one_of(
        st.sampled_from(v["words"]),
        st.sampled_from(v["bigrams"]).map(lambda b: f'"{b}"'),
        st.sampled_from(v["long"]).map(lambda w: f"{w[:4]}*"),
        st.tuples(st.sampled_from(["title", "abstract", "org"]), st.sampled_from(v["words"])).map(
            lambda fw: f"{fw[0]}:{fw[1]}"
        ),
        st.sampled_from(v["longer"]).map(lambda b: f'"{b}"'),
        st.tuples(
            st.sampled_from(["title", "abstract", "org"]),
            st.sampled_from(v["bigrams"] + v["longer"]),
        ).map(lambda fb: f'{fb[0]}:"{fb[1]}"'),
        st.tuples(st.sampled_from(["title", "abstract", "author"]), st.sampled_from(v["long"])).map(
            lambda fw: f"{fw[0]}:{fw[1][:4]}*"
        ),
        st.sampled_from(v["names"]).map(lambda n: f"author:{n}"),
        st.sampled_from(v["names"]).map(lambda n: f"author:{n[0]}"),
        st.tuples(st.sampled_from(v["names"]), st.sampled_from(v["names"])).map(
            lambda ab: f'author:"{ab[0]} {ab[1]}"'
        ),
    )


def _text() -> st.SearchStrategy[str]:
    return st.recursive(
        _leaf(),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} OR {ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} {ab[1]})"),
            st.tuples(inner, _leaf()).map(lambda ab: f"({ab[0]} -{ab[1]})"),
        ),
        max_leaves=5,
    )


def _filters(min_size: int = 0) -> st.SearchStrategy[list[str]]:
    v = vocabulary()
    one = st.one_of(
        st.sampled_from(v["categories"]).map(lambda c: f"cat:{c}"),
        st.sampled_from(v["categories"]).map(lambda c: f"-cat:{c}"),
        st.sampled_from(["cs", "math", "physics", "astro-ph", "cond-mat"]).map(
            lambda a: f"cat:{a}"
        ),
        st.tuples(st.sampled_from(v["categories"]), st.sampled_from(v["categories"])).map(
            lambda ab: f"(cat:{ab[0]} OR cat:{ab[1]})"
        ),
        st.sampled_from(v["ids"]).map(lambda i: f"id:{i}"),
        st.sampled_from(["since:3d", "since:2024-11-29", "until:2024-11-28", "year:2024"]),
    )
    return st.lists(one, min_size=min_size, max_size=2)


@st.composite
def queries(draw: st.DrawFn) -> Query:
    shape = draw(st.sampled_from(["text", "text+filters", "filters", "exclusion+filter"]))
    parts: list[str] = []
    if shape in ("text", "text+filters"):
        parts.append(draw(_text()))
    if shape in ("text+filters", "filters"):
        parts.extend(draw(_filters()))
    if shape == "exclusion+filter":
        parts.append("-" + draw(_leaf()))
        parts.append(draw(_filters(min_size=1))[0])
    try:
        return parse_query(" ".join(parts), today=NOW.date())
    except QueryError:
        return parse_query("cat:cs.CL")


def keyed(result: dict[int, list[Paper]]) -> dict[int, list[str]]:
    return {owner: [p.key for p in found] for owner, found in result.items()}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    topics=st.lists(queries(), min_size=1, max_size=25),
    picks=st.lists(st.integers(0, 1503), min_size=1, max_size=60, unique=True),
    with_stats=st.booleans(),
)
def test_the_index_matches_exactly_what_brute_force_matches(
    topics: list[Query], picks: list[int], with_stats: bool
) -> None:
    day = [papers()[i] for i in sorted(picks)]
    entries = list(enumerate(topics))
    index = TopicIndex(entries, stats=stats() if with_stats else None)
    brute = keyed(match_brute(entries, day, now=NOW))
    assert keyed(index.match_many(day, now=NOW)) == brute
    one_by_one: dict[int, list[str]] = {}
    for paper in day:  # the per-paper path, as for a paper arriving on its own
        for owner in index.match(paper, now=NOW):
            one_by_one.setdefault(owner, []).append(paper.key)
    assert one_by_one == brute


def test_on_a_whole_day_with_many_topics_the_index_agrees_and_skips_most_work() -> None:
    rng = random.Random(3)
    v = vocabulary()
    texts = []
    for _ in range(400):
        kind = rng.random()
        if kind < 0.4:
            texts.append(f'"{rng.choice(v["bigrams"])}"')
        elif kind < 0.7:
            texts.append(f"{rng.choice(v['words'])} {rng.choice(v['words'])}")
        elif kind < 0.85:
            texts.append(f"{rng.choice(v['words'])} OR {rng.choice(v['long'])[:5]}*")
        else:
            texts.append(f"cat:{rng.choice(v['categories'])}")
    entries = [(i, parse_query(t, today=NOW.date())) for i, t in enumerate(texts)]
    day = list(papers()[:300])
    index = TopicIndex(entries, stats=stats())
    assert keyed(index.match_many(day, now=NOW)) == keyed(match_brute(entries, day, now=NOW))
    reached = sum(index.candidates(p) for p in day)
    assert reached < 0.1 * len(entries) * len(day)


def test_owners_sharing_a_query_are_all_returned_and_it_is_evaluated_once() -> None:
    query = parse_query("cat:cs.CL", today=NOW.date())
    index = TopicIndex([("guild-1", query), ("guild-2", query), ("guild-3", query)])
    assert index.stats.distinct_queries == 1 and index.stats.by_filter == 1
    nlp = next(p for p in papers() if "cs.CL" in p.categories)
    assert index.match(nlp, now=NOW) == ["guild-1", "guild-2", "guild-3"]


def test_how_topics_are_indexed() -> None:
    today = NOW.date()
    index = TopicIndex(
        [
            (1, parse_query('"long context" OR "million tokens"', today=today)),
            (2, parse_query("transform* reasoning", today=today)),
            (3, parse_query("cat:astro-ph", today=today)),
            (4, parse_query("cat:cs -survey", today=today)),
            (5, parse_query("-survey since:7d", today=today)),
        ],
        stats=stats(),
    )
    s = index.stats
    assert s.branches == 6  # the OR is indexed branch by branch
    assert (s.by_filter, s.scanned) == (2, 1)
    assert s.by_term + s.by_prefix == 3


def test_owners_by_paper_inverts_the_result() -> None:
    query = parse_query("cat:quant-ph", today=NOW.date())
    result = TopicIndex([("q", query)]).match_many(papers()[:200], now=NOW)
    inverted = owners_by_paper(result)
    assert inverted and all(owners == {"q"} for owners in inverted.values())


@pytest.mark.parametrize(
    "text",
    [
        "author:h",
        "author:hinton",
        "author:wang",
        'author:"g hinton"',
        'author:"j m"',
        "org:university",
        "title:model*",
    ],
)
def test_fields_and_initials_agree_with_the_reference(text: str) -> None:
    entries = [(0, parse_query(text, today=NOW.date()))]
    day = list(papers()[:400])
    assert keyed(TopicIndex(entries).match_many(day, now=NOW)) == keyed(
        match_brute(entries, day, now=NOW)
    )
