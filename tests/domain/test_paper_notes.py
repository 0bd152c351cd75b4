"""A paper's notes (TL;DR, phrases, its own themes): taken once, stored as JSON, trusted only for
the abstract they were taken from; a builder given them builds the same digests."""

from __future__ import annotations

import functools
import json
import random
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.digest import DigestBuilder, DigestCard, DigestMessage, encode_messages
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.keyphrases import document_phrases
from bot.domain.paper_notes import NOTES_FORMAT, PaperNotes, take_notes
from bot.domain.papers import Paper
from bot.domain.summaries import tldr
from bot.domain.topics import make_topic
from tests.conftest import ARXIV_FIXTURES

NOW = datetime(2024, 11, 28, 9, 0, tzinfo=UTC)


@functools.cache
def day() -> tuple[Paper, ...]:
    data = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_bytes()
    return tuple(parse_arxiv_rss(data).papers)


def test_notes_hold_the_tldr_and_every_phrase_of_the_abstract() -> None:
    for paper in day()[:50]:
        notes = take_notes(paper)
        text = " ".join(paper.abstract.split())
        assert notes.tldr == tldr(paper.abstract, max_chars=280)
        keys = set().union(*notes.phrases)
        assert keys == document_phrases(paper.abstract)
        for words, group in enumerate(notes.phrases, start=1):
            for key, spelling in group.items():
                assert min(3, len(key.split())) == words
                assert spelling in text  # as written
        assert 0 < len(notes.themes) <= 8


def test_notes_survive_their_json_and_fit_only_their_own_abstract() -> None:
    paper = day()[3]
    notes = take_notes(paper)
    again = PaperNotes.from_json(notes.to_json())
    assert again == notes
    assert again is not None and again.fits(paper)
    assert not notes.fits(replace(paper, abstract=paper.abstract + " Code is available."))
    assert not notes.fits(paper, tldr_chars=200)
    assert not replace(notes, format=NOTES_FORMAT - 1).fits(paper)


def test_unreadable_or_older_notes_read_as_none() -> None:
    good = json.loads(take_notes(day()[0]).to_json())
    assert PaperNotes.from_json("{not json") is None
    assert PaperNotes.from_json("[]") is None
    assert PaperNotes.from_json(json.dumps({**good, "format": NOTES_FORMAT - 1})) is None
    assert PaperNotes.from_json(json.dumps({k: v for k, v in good.items() if k != "tldr"})) is None


def test_a_builder_given_stored_notes_builds_the_very_same_digests() -> None:
    papers = list(day())
    stored = {p.key: take_notes(p).to_json() for p in papers}
    queries = ["cat:cs.CL", '"language model"', "diffusion", "graph neural", "cat:math.AP"]
    rng = random.Random(7)
    for text in queries:
        topic = make_topic(1, "t", text, now=NOW)
        matching = [p for p in papers if rng.random() < 0.5]
        for size in (1, 2, 5, 17, 60, len(matching)):
            batch = matching[:size]
            fresh = DigestBuilder().build(topic, batch, now=NOW)
            told = DigestBuilder()
            for paper in batch:
                notes = PaperNotes.from_json(stored[paper.key])
                assert notes is not None
                told.remember(paper, notes)
            assert all(told.knows(p) for p in batch)
            assert told.build(topic, batch, now=NOW) == fresh


def test_primed_and_unprimed_builders_find_the_same_themes() -> None:
    # Primed: only phrases another paper of the day has are counted, and small digests find
    # the shared phrases by set algebra; unprimed: every phrase, counted.
    papers = list(day())
    primed = DigestBuilder()
    primed.prime(papers)
    plain = DigestBuilder()
    rng = random.Random(11)
    for _ in range(150):
        batch = rng.sample(papers, rng.choice([2, 3, 4, 8, 15, 16, 17, 40, 120]))
        assert primed.themes(batch) == plain.themes(batch)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(
    st.lists(
        st.tuples(_text, st.lists(st.tuples(_text, _text, _text), max_size=3), st.lists(_text)),
        max_size=3,
    )
)
def test_encoded_messages_read_back_as_they_were(raw: list[tuple[str, list, list]]) -> None:
    messages = tuple(
        DigestMessage(
            content=content,
            cards=tuple(DigestCard(title=t, body=b, paper_key=k or None) for t, b, k in cards),
            paper_keys=tuple(keys),
        )
        for content, cards, keys in raw
    )
    text = encode_messages(messages)
    assert json.loads(text) == [m.to_json() for m in messages]
    assert tuple(DigestMessage.from_json(m) for m in json.loads(text)) == messages
