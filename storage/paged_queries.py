"""The state of paged lists too long to keep in a button's id, on SQLite or PostgreSQL.

:class:`SqlPagedQueries` implements :class:`bot.domain.paged_queries.PagedQueryStore`. One row per
key (see :func:`bot.domain.paged_queries.paged_query_key`); saving the same list again only moves
``used_at``. Migration 0005 creates the table; tests/conftest.py imports this module so the
tests' truncation covers it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.paged_queries import KEY_LENGTH, PagedQuery, PagedQueryStore
from storage.models import Base
from storage.types import UTCDateTime

__all__ = ["PagedQueryRow", "SqlPagedQueries", "paged_queries_t"]


class PagedQueryRow(Base):
    """A paged list: the command, its argument (the query as the parser reads it, with any
    ``sort:``) and the one person who may turn its pages, under a hash of the three."""

    __tablename__ = "paged_queries"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    command: Mapped[str] = mapped_column(String(32))
    argument: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


paged_queries_t: Table = Base.metadata.tables[PagedQueryRow.__tablename__]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlPagedQueries(PagedQueryStore):
    """The paged-list store on a SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self._clock = clock

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(paged_queries_t)
        return sqlite.insert(paged_queries_t)

    def save(self, query: PagedQuery) -> str:
        key = query.key
        now = self._clock()
        stmt = self._insert().values(
            key=key,
            command=query.command,
            argument=query.argument,
            owner_id=query.owner_id,
            created_at=now,
            used_at=now,
        )
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"used_at": now})
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return key

    def get(self, key: str) -> PagedQuery | None:
        t = paged_queries_t
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.command, t.c.argument, t.c.owner_id).where(t.c.key == key)
            ).first()
        if row is None:
            return None
        return PagedQuery(command=row.command, argument=row.argument, owner_id=int(row.owner_id))
