"""Topics: names, queries checked by the parser, and the ready-made topics in config/."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.papers import Paper
from bot.domain.query import matches
from bot.domain.topics import (
    TOPIC_NAME_MAX,
    TopicError,
    edited,
    find_ready_made,
    load_ready_made,
    make_topic,
    suggest_name,
    validate_topic_name,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
NOW = datetime(2024, 11, 28, 12, 0, tzinfo=UTC)


@functools.cache
def papers() -> tuple[Paper, ...]:
    return tuple(parse_arxiv_rss(FIXTURE.read_bytes()).papers)


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["long-context", "llm", "cs-cl", "gpt4", "a", "x" * TOPIC_NAME_MAX]
)
def test_slugs_are_valid_names(name: str) -> None:
    assert validate_topic_name(name) == name


def test_upper_case_and_surrounding_spaces_are_forgiven() -> None:
    assert validate_topic_name("  Long-Context ") == "long-context"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("long context", "try 'long-context'"),
        ("long_context", "try 'long-context'"),
        ("long--context", "try 'long-context'"),
        ("-llm", "try 'llm'"),
        ("Régression", "try 'regression'"),
    ],
)
def test_a_bad_name_is_refused_with_a_suggestion(name: str, hint: str) -> None:
    with pytest.raises(TopicError) as err:
        validate_topic_name(name)
    assert "lower-case letters, digits and single dashes" in str(err.value)
    assert hint in str(err.value)


def test_a_long_name_is_refused_with_its_length() -> None:
    with pytest.raises(TopicError, match="at most 40 characters \\(this one has 41\\)"):
        validate_topic_name("x" * 41)


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(TopicError, match="needs a name"):
        validate_topic_name("   ")


def test_suggest_name_makes_a_slug_of_anything() -> None:
    assert suggest_name("Graph Neural Networks (GNNs)!") == "graph-neural-networks-gnns"
    assert suggest_name("🚀") == ""


# --- queries --------------------------------------------------------------------------------------


def test_a_topic_keeps_its_query_and_its_parse() -> None:
    topic = make_topic(
        1, "long-context", '  "long context"   OR "million tokens" cat:cs.CL', now=NOW
    )
    assert topic.query_text == '"long context" OR "million tokens" cat:cs.CL'
    assert topic.canonical_query == '("long context" OR "million tokens") cat:cs.CL'
    assert topic.summary == '"long context" OR "million tokens" · in cs.CL'
    assert topic.created_at == NOW and topic.guild_id == 1


def test_a_query_the_parser_rejects_is_refused_with_its_message() -> None:
    with pytest.raises(TopicError) as err:
        make_topic(1, "broken", '"long context', now=NOW)
    assert str(err.value) == (
        "the query cannot be used: unbalanced quote: the phrase starting at column 1 is never "
        'closed; add a closing " or remove this one'
    )
    with pytest.raises(TopicError, match="did you mean author:"):
        make_topic(1, "broken", "autor:hinton", now=NOW)


def test_editing_validates_the_new_query() -> None:
    topic = make_topic(1, "llm", "llm", now=NOW)
    later = datetime(2024, 12, 1, tzinfo=UTC)
    changed = edited(topic, "llm OR agents", now=later)
    assert changed.query_text == "llm OR agents" and changed.updated_at == later
    assert changed.created_at == NOW
    with pytest.raises(TopicError):
        edited(topic, "(unclosed", now=later)


def test_a_long_description_is_refused() -> None:
    with pytest.raises(TopicError, match="description is too long"):
        make_topic(1, "llm", "llm", description="x" * 201, now=NOW)


# --- the ready-made topics ------------------------------------------------------------------------


def test_every_ready_made_topic_parses_and_has_a_unique_name() -> None:
    topics = load_ready_made()
    names = [t.name for t in topics]
    assert len(names) == len(set(names))
    for wanted in (
        "cs-cl",
        "cs-lg",
        "cs-cv",
        "cs-ai",
        "cs-ir",
        "cs-ro",
        "stat-ml",
        "quant-ph",
        "hep-th",
        "astro-ph",
        "cond-mat",
        "math",
        "long-context",
        "llm-agents",
        "diffusion-models",
        "graph-neural-networks",
    ):
        assert wanted in names
    assert all(t.description for t in topics)


def test_a_ready_made_topic_is_found_by_its_category_code() -> None:
    topics = load_ready_made()
    found = find_ready_made("cs.CL", topics)
    assert found is not None and found.name == "cs-cl"
    assert find_ready_made("gnn", topics) is not None
    assert find_ready_made("no-such-thing", topics) is None


def test_ready_made_topics_match_the_papers_they_promise() -> None:
    topics = {t.name: t for t in load_ready_made()}
    day = papers()

    def matched(name: str) -> list[Paper]:
        return [p for p in day if matches(topics[name].query, p, now=NOW)]

    assert {p.key for p in matched("cs-cl")} == {p.key for p in day if "cs.CL" in p.categories}
    assert all(any(c.startswith("astro-ph") for c in p.categories) for p in matched("astro-ph"))
    long_context = matched("long-context")
    assert 0 < len(long_context) < 20
    assert all(
        "context" in (p.title + p.abstract).lower() or "token" in p.abstract.lower()
        for p in long_context
    )
    assert 0 < len(matched("llm-agents")) < 60
    assert 0 < len(matched("diffusion-models")) < 100


def test_a_bad_ready_made_file_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        '[[topic]]\nname = "ok"\nquery = "llm"\n\n[[topic]]\nname = "Bad Name"\nquery = "x"\n'
    )
    with pytest.raises(TopicError, match="topic 2 \\(Bad Name\\)"):
        load_ready_made(path)
    path.write_text('[[topic]]\nname = "q"\nquery = "(open"\n')
    with pytest.raises(TopicError, match="topic 1 \\(q\\): the query cannot be used"):
        load_ready_made(path)
    path.write_text('[[topic]]\nname = "a"\nquery = "x"\n\n[[topic]]\nname = "a"\nquery = "y"\n')
    with pytest.raises(TopicError, match="used twice"):
        load_ready_made(path)
