"""Papers' notes on SQLite and PostgreSQL: one row per paper, replaced in place, gone with the
paper, and a row that cannot be read is never trusted."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select, update

from bot.digests.scheduler import ManualClock
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.paper_notes import PaperNotes, take_notes
from bot.domain.papers import Paper
from storage.catalog import SqlCatalog, papers_t
from storage.notes import SqlPaperNotes, paper_notes_t
from tests.conftest import ARXIV_FIXTURES

START = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)


@functools.cache
def papers() -> tuple[Paper, ...]:
    data = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_bytes()
    return tuple(parse_arxiv_rss(data).papers)[:700]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(paper_notes_t)).scalar_one())


def test_saved_notes_read_back_for_their_papers_only(engine: Engine) -> None:
    batch = list(papers())
    SqlCatalog(engine).upsert(batch)
    store = SqlPaperNotes(engine, clock=ManualClock(START))
    notes = {p.key: take_notes(p) for p in batch[:600]}  # more keys than one IN (...) chunk
    assert store.save({**notes, "9999.99999": take_notes(batch[0])}) == 600  # unknown: ignored
    found = store.get([p.key for p in batch] + ["9999.99999"])
    assert found == notes
    assert _count(engine) == 600


def test_saving_again_replaces_the_row(engine: Engine) -> None:
    paper = papers()[0]
    SqlCatalog(engine).upsert([paper])
    store = SqlPaperNotes(engine)
    first = take_notes(paper)
    store.save({paper.key: first})
    shorter = take_notes(paper, tldr_chars=120)
    store.save({paper.key: shorter})
    assert store.get([paper.key]) == {paper.key: shorter} and _count(engine) == 1
    assert store.save({}) == 0


def test_a_row_that_cannot_be_read_is_left_out(engine: Engine) -> None:
    one, two = papers()[:2]
    SqlCatalog(engine).upsert([one, two])
    store = SqlPaperNotes(engine)
    store.save({one.key: take_notes(one), two.key: take_notes(two)})
    with engine.begin() as conn:
        ids = dict(conn.execute(select(papers_t.c.key, papers_t.c.id)).all())
        conn.execute(
            update(paper_notes_t)
            .where(paper_notes_t.c.paper_id == ids[one.key])
            .values(notes='{"format": 0}')
        )
    assert list(store.get([one.key, two.key])) == [two.key]


def test_notes_go_with_their_paper(engine: Engine) -> None:
    one, two = papers()[:2]
    SqlCatalog(engine).upsert([one, two])
    SqlPaperNotes(engine).save({one.key: take_notes(one), two.key: take_notes(two)})
    with engine.begin() as conn:
        conn.execute(delete(papers_t).where(papers_t.c.key == one.key))
    assert _count(engine) == 1
    found = SqlPaperNotes(engine).get([one.key, two.key])
    assert set(found) == {two.key} and isinstance(found[two.key], PaperNotes)
