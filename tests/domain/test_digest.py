"""Building digests: ranking, TL;DRs of real abstracts, themes, splitting within Discord's limits,
"and N more", empty periods and why, and arXiv's announcement calendar."""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.announcements import announcements_between, arxiv_holidays
from bot.domain.digest import (
    DigestBuilder,
    DigestMessage,
    DigestOptions,
    build_digest,
    explain_empty,
    relevance,
)
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.keyphrases import _LENGTH_BONUS, _acronym_of, _contains, choose_themes
from bot.domain.papers import Author, Paper
from bot.domain.query import matches
from bot.domain.topics import make_topic
from tests.fakediscord.limits import check_message

FIXTURE = Path(__file__).parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
NOW = datetime(2024, 11, 28, 7, 0, tzinfo=UTC)


@functools.cache
def papers() -> tuple[Paper, ...]:
    return tuple(parse_arxiv_rss(FIXTURE.read_bytes()).papers)


def by_id(arxiv_id: str) -> Paper:
    return next(p for p in papers() if p.arxiv_id == arxiv_id)


def in_category(code: str) -> list[Paper]:
    return [p for p in papers() if code in p.categories]


def body(message: DigestMessage) -> dict[str, object]:
    """The message as the Discord renderer sends it (one embed per card)."""
    return {
        "content": message.content,
        "embeds": [
            {
                "title": c.title,
                "url": c.url,
                "description": c.description(),
                "footer": {"text": c.footer},
            }
            for c in message.cards
        ],
    }


# --- TL;DRs and ranking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arxiv_id", "start"),
    [
        ("2411.17703", "We present a machine learning approach for forecasting radiation exposure"),
        ("2411.17735", "We propose SnapMem, a novel snapshot-based scene representation"),
        ("2411.17711", "This paper introduces AnyECG, a foundational model"),
    ],
)
def test_each_card_carries_the_contribution_sentence_of_a_real_abstract(
    arxiv_id: str, start: str
) -> None:
    topic = make_topic(1, "t", f"id:{arxiv_id}", now=NOW)
    digest = build_digest(topic, [by_id(arxiv_id)], now=NOW)
    [card] = digest.messages[0].cards
    assert card.body.startswith(start)
    assert digest.entries[0].tldr == card.body
    assert card.url == f"https://arxiv.org/abs/{arxiv_id}"
    assert [link.label for link in card.links] == ["abs", "pdf"]
    assert card.footer == f"{arxiv_id}v1 · 2024-11-28"


def test_title_hits_rank_above_abstract_hits_then_newer_first() -> None:
    base = Paper(title="x", abstract="nothing", arxiv_id="2411.00001", version=1)
    day = datetime(2024, 11, 20, tzinfo=UTC)
    in_title = replace(base, title="Diffusion for text", arxiv_id="2411.00001", published=day)
    in_abstract_old = replace(
        base, abstract="A diffusion model.", arxiv_id="2411.00002", published=day
    )
    in_abstract_new = replace(
        base,
        abstract="A diffusion model.",
        arxiv_id="2411.00003",
        published=day + timedelta(days=1),
    )
    topic = make_topic(1, "diffusion", "diffusion", now=NOW)
    ranked = DigestBuilder().rank(topic.query, [in_abstract_old, in_abstract_new, in_title])
    assert [p.arxiv_id for _, p in ranked] == ["2411.00001", "2411.00003", "2411.00002"]
    assert relevance(topic.query, in_title) == 3.0
    assert relevance(topic.query, in_abstract_old) == 1.0
    assert relevance(make_topic(1, "t", "-diffusion cat:cs", now=NOW).query, in_title) == 0.0


@pytest.mark.parametrize(
    "query",
    [
        "language models",
        '"large language models" reasoning',
        "title:diffusion OR abstract:graph",
        "transform* cat:cs.LG",
        'author:wang "neural network"',
        "org:university benchmark -survey",
        "cat:cs.CL",
    ],
)
def test_ranking_scores_each_paper_by_its_relevance_then_newest_first(query: str) -> None:
    # The builder scores plain words by a lookup in each paper's word weights and the rest
    # leaf by leaf; the order must be that of relevance() itself, then newest, then key.
    topic = make_topic(1, "t", query, now=NOW)
    found = [p for p in papers() if matches(topic.query, p, now=NOW)][:200]
    assert found, query
    builder = DigestBuilder()
    for _ in range(2):  # the second time from the builder's caches
        ranked = builder.rank(topic.query, found)
        moment = {p.key: p.published or p.updated for p in found}
        expected = sorted(
            found,
            key=lambda p: (-relevance(topic.query, p), -moment[p.key].timestamp(), p.key),
        )
        assert [p.key for _, p in ranked] == [p.key for p in expected]
        assert [score for score, _ in ranked] == [relevance(topic.query, p) for p in expected]


def test_the_summary_counts_the_papers_and_names_their_themes() -> None:
    topic = make_topic(1, "nlp", "cat:cs.CL", now=NOW)
    digest = build_digest(topic, in_category("cs.CL"), now=NOW)
    assert digest.summary.startswith(f"{len(in_category('cs.CL'))} new papers · themes: ")
    assert "large language models" in [t.lower() for t in digest.themes]
    # An acronym does not come back as a second theme beside what it abbreviates.
    assert not {"llm", "llms"} & {t.lower() for t in digest.themes}
    assert digest.messages[0].content == f"nlp · {digest.summary} (1/{len(digest.messages)})"


# --- limits, splitting, "and N more" --------------------------------------------------------------


def test_a_large_digest_is_split_within_discords_limits() -> None:
    topic = make_topic(1, "cv", "cat:cs.CV", now=NOW)
    cv = in_category("cs.CV")
    digest = build_digest(topic, cv, now=NOW, options=DigestOptions(max_papers=60))

    assert len(digest.messages) >= 6
    for message in digest.messages:
        errors, empty = check_message(body(message), creating=True)
        assert errors == {} and not empty
        assert len(message.cards) <= 10
    delivered = [k for m in digest.messages for k in m.paper_keys]
    assert sorted(delivered) == sorted(p.key for p in cv)  # each once, the overflow included
    last = digest.messages[-1].cards[-1]
    assert last.title == f"and {len(cv) - 60} more"
    assert (
        last.body
        == "See them all with /search cat:cs.CV since:2024-11-28, or subscribe more often."
    )
    assert (
        digest.messages[-1].content
        == f"cv · continued ({len(digest.messages)}/{len(digest.messages)})"
    )


def test_outsized_papers_are_cut_to_fit() -> None:
    huge = Paper(
        title="Attention " * 60,
        abstract="We propose a method. " + "The results are good. " * 400,
        authors=tuple(Author(f"Author Number{i}") for i in range(300)),
        arxiv_id="2411.99999",
        version=3,
        categories=("cs.LG", "cs.CL", "cs.AI", "stat.ML", "cs.CV"),
    )
    topic = make_topic(1, "attention", "attention", now=NOW)
    digest = build_digest(
        topic, [huge] * 1 + [replace(huge, arxiv_id=f"2411.9{i:04d}") for i in range(30)], now=NOW
    )
    for message in digest.messages:
        errors, _ = check_message(body(message), creating=True)
        assert errors == {}
    card = digest.messages[0].cards[0]
    assert len(card.title) <= 256 and card.title.endswith("…")
    assert card.byline.startswith("Author Number0, Author Number1, Author Number2 et al. · ")
    assert card.byline.endswith("cs.LG, cs.CL, cs.AI +2")
    assert len(card.description()) <= 700


def test_a_digest_survives_being_stored_as_json() -> None:
    topic = make_topic(1, "nlp", "cat:cs.CL", now=NOW)
    digest = build_digest(topic, in_category("cs.CL")[:12], now=NOW)
    for message in digest.messages:
        assert DigestMessage.from_json(message.to_json()) == message


# --- empty periods --------------------------------------------------------------------------------


def test_an_empty_digest_posts_nothing_unless_asked() -> None:
    topic = make_topic(1, "nlp", "cat:cs.CL", now=NOW)
    friday = NOW + timedelta(days=1)  # the digest after Thanksgiving
    reason = explain_empty(friday - timedelta(days=1), friday, 0)
    silent = build_digest(topic, [], now=NOW, empty_reason=reason)
    assert silent.messages == () and silent.is_empty
    loud = build_digest(topic, [], now=NOW, empty_reason=reason, notify_empty=True)
    assert [m.content for m in loud.messages] == [
        "nlp: no new papers — arXiv holiday (Thanksgiving): no announcement."
    ]
    assert loud.messages[0].paper_keys == ()


@pytest.mark.parametrize(
    ("end", "kind", "text"),
    [
        # 08:00 Berlin digests (07:00 UTC), each covering the day before.
        ("2024-11-25T07:00", "no_new_papers", "no new papers reached the catalog yet"),
        ("2024-11-29T07:00", "holiday", "arXiv holiday (Thanksgiving)"),
        ("2024-11-30T07:00", "weekend", "weekend: arXiv announces nothing on Friday"),
        ("2024-12-01T07:00", "weekend", "weekend"),
        ("2024-12-26T07:00", "holiday", "arXiv holiday (Christmas)"),
        ("2025-01-02T07:00", "holiday", "arXiv holiday (New Year's Day)"),
    ],
)
def test_why_a_daily_digest_is_empty(end: str, kind: str, text: str) -> None:
    stop = datetime.fromisoformat(end).replace(tzinfo=UTC)
    reason = explain_empty(stop - timedelta(days=1), stop, 0)
    assert reason.kind == kind
    assert text in reason.text


def test_when_papers_came_but_none_matched_the_reason_says_so() -> None:
    reason = explain_empty(NOW - timedelta(days=1), NOW, 1504)
    assert reason.kind == "nothing_matched"
    assert reason.text == "none of the 1504 new papers in the catalog matched this topic"


def test_an_ad_hoc_closure_counts_as_a_holiday() -> None:
    stop = datetime(2024, 11, 27, 7, 0, tzinfo=UTC)
    reason = explain_empty(stop - timedelta(days=1), stop, 0, extra_holidays=[date(2024, 11, 26)])
    assert reason.kind == "holiday" and "arXiv closure" in reason.text


# --- the announcement calendar --------------------------------------------------------------------


def test_arxiv_holidays_2023_match_arxivs_own_list() -> None:
    # arXiv/arxiv-docs help/availability.md, "2023 Holidays" (less its two ad-hoc days).
    listed = {
        date(2023, 1, 16),
        date(2023, 6, 19),
        date(2023, 7, 4),
        date(2023, 9, 4),
        date(2023, 11, 23),
        date(2023, 12, 25),
    }
    assert listed <= set(arxiv_holidays(2023))


def test_announcements_are_sunday_to_thursday_evenings_new_york_time() -> None:
    week = announcements_between(
        datetime(2024, 12, 1, 0, 0, tzinfo=UTC), datetime(2024, 12, 8, 0, 0, tzinfo=UTC)
    )
    assert [a.strftime("%a %H:%M") for a in week] == [
        "Mon 01:00",  # Sunday 20:00 EST
        "Tue 01:00",
        "Wed 01:00",
        "Thu 01:00",
        "Fri 01:00",  # Thursday 20:00 EST
    ]


def test_matching_the_fixture_and_building_needs_no_network() -> None:
    topic = make_topic(1, "quantum", "cat:quant-ph", now=NOW)
    found = [p for p in papers() if matches(topic.query, p, now=NOW)]
    digest = DigestBuilder().build(topic, found, now=NOW)
    assert digest.count == len(found) > 0


def test_a_primed_builder_builds_the_same_digests() -> None:
    day = list(papers())
    topics = [
        make_topic(1, "nlp", "cat:cs.CL", now=NOW),
        make_topic(1, "ctx", '"long context" OR "context window"', now=NOW),
        make_topic(1, "one", "id:2411.17735", now=NOW),
    ]
    primed = DigestBuilder()
    primed.prime(day)
    for topic in topics:
        found = [p for p in day if matches(topic.query, p, now=NOW)]
        assert primed.build(topic, found, now=NOW) == DigestBuilder().build(topic, found, now=NOW)


# --- shared work between digests ------------------------------------------------------------------


def _reference_themes(df: dict[str, int], n: int, limit: int) -> list[tuple[str, ...]]:
    """The choice of themes written plainly: every candidate scored and sorted."""
    candidates = {k: c for k, c in df.items() if c >= (1 if n < 3 else 2)}
    subsumed: set[str] = set()
    for key, count in candidates.items():
        parts = key.split()
        if len(parts) < 2:
            continue
        for part in (" ".join(parts[:-1]), " ".join(parts[1:])):
            if part in df and count >= 0.6 * df[part]:
                subsumed.add(part)
    scored = sorted(
        (-c * math.log(1 + n / c) * _LENGTH_BONUS[min(2, k.count(" "))], k)
        for k, c in candidates.items()
        if k not in subsumed
    )
    chosen: list[tuple[str, ...]] = []
    for _, key in scored:
        phrase = tuple(key.split())
        if any(_contains(o, phrase) or _contains(phrase, o) for o in chosen):
            continue
        if any(_acronym_of(phrase, o) or _acronym_of(o, phrase) for o in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) >= limit:
            break
    return chosen


_THEME_WORDS = ["large", "language", "model", "llm", "lm", "graph", "neural", "network", "gnn"]


@settings(max_examples=400)
@given(
    st.dictionaries(
        st.lists(st.sampled_from(_THEME_WORDS), min_size=1, max_size=3).map(" ".join),
        st.integers(min_value=1, max_value=12),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=5),
)
def test_themes_are_chosen_as_by_sorting_every_candidate(
    df: dict[str, int], n: int, limit: int
) -> None:
    df = {k: min(c, n) for k, c in df.items()}
    least = 1 if n < 3 else 2
    by_length = [
        {k: c for k, c in df.items() if c >= least and min(2, k.count(" ")) == words}
        for words in (0, 1, 2)
    ]
    assert choose_themes(by_length, n, limit) == _reference_themes(df, n, limit)


def test_subscriptions_sharing_a_topic_share_the_work_but_not_their_names() -> None:
    found = in_category("cs.CL")[:30]
    builder = DigestBuilder()
    one = builder.build(make_topic(1, "nlp", "language models", now=NOW), found, now=NOW)
    # Another guild's copy of the topic, with the papers loaded again (equal, not the same).
    again = [replace(p) for p in found]
    other = builder.build(make_topic(2, "lm", "language models", now=NOW), again, now=NOW)
    alone = DigestBuilder().build(make_topic(2, "lm", "language models", now=NOW), again, now=NOW)
    assert other == alone
    assert [e.paper for e in other.entries] == [e.paper for e in alone.entries]
    assert other.entries[0].paper is again[found.index(one.entries[0].paper)]
    assert one.messages[0].content.replace("nlp · ", "lm · ") == other.messages[0].content
    assert one.messages[0].cards == other.messages[0].cards
