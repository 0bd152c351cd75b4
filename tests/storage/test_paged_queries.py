"""Paged lists' state on SQLite and PostgreSQL: one row per key, found again by a new store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from bot.digests.scheduler import ManualClock
from bot.domain.paged_queries import KEY_LENGTH, PagedQuery, paged_query_key
from storage.paged_queries import SqlPagedQueries, paged_queries_t

START = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)
LONG = "model " + " OR ".join(["learning", "context", "network", "data"] * 5) + " sort:recent"


def _rows(engine: Engine) -> list[tuple[str, datetime, datetime]]:
    t = paged_queries_t
    with engine.connect() as conn:
        return [
            (r.key, r.created_at, r.used_at)
            for r in conn.execute(select(t.c.key, t.c.created_at, t.c.used_at).order_by(t.c.key))
        ]


def test_the_key_is_short_stable_and_depends_on_every_part() -> None:
    query = PagedQuery("search", LONG, 80351110224678912)
    assert query.key == paged_query_key(PagedQuery("search", LONG, 80351110224678912))
    assert len(query.key) == KEY_LENGTH and all(c in "0123456789abcdef" for c in query.key)
    others = {
        PagedQuery("author", LONG, 80351110224678912).key,
        PagedQuery("search", LONG + " x", 80351110224678912).key,
        PagedQuery("search", LONG, 80351110224678913).key,
    }
    assert query.key not in others and len(others) == 3


def test_save_then_get_round_trips_and_saving_again_keeps_one_row(engine: Engine) -> None:
    clock = ManualClock(START)
    store = SqlPagedQueries(engine, clock=clock)
    query = PagedQuery("search", LONG + " 🦜 naïve", 2**63 - 1)
    key = store.save(query)
    assert key == query.key
    assert store.get(key) == query
    clock.advance(timedelta(hours=1))
    assert store.save(query) == key
    assert _rows(engine) == [(key, START, START + timedelta(hours=1))]
    other = PagedQuery("search", LONG, 4242)
    store.save(other)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(paged_queries_t)).scalar_one() == 2
    # A new store (as a restarted bot builds) finds both.
    again = SqlPagedQueries(engine)
    assert again.get(key) == query and again.get(other.key) == other


def test_an_unknown_key_is_none(engine: Engine) -> None:
    assert SqlPagedQueries(engine).get("0" * KEY_LENGTH) is None
