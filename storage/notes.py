"""Papers' digest notes (TL;DR and candidate phrases, see bot.domain.paper_notes), stored.

One row per paper (deleted with it), holding the notes as JSON. Migration 0006 creates the table;
tests/conftest.py imports this module so the tests' truncation covers it. Notes are a cache of
work done on the abstract: a row that cannot be read, or that was taken from another abstract, is
taken again by whoever needs it, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, ForeignKey, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.paper_notes import PaperNotes
from storage.models import Base, PaperRow
from storage.types import UTCDateTime

__all__ = ["PaperNotesRow", "SqlPaperNotes", "paper_notes_t"]

_CHUNK = 500  # keys per IN (...): well under SQLite's bound-parameter limit


class PaperNotesRow(Base):
    __tablename__ = "paper_notes"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    notes: Mapped[str] = mapped_column(Text)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


paper_notes_t: Table = Base.metadata.tables[PaperNotesRow.__tablename__]
papers_t: Table = Base.metadata.tables[PaperRow.__tablename__]


def _chunks(keys: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(keys), _CHUNK):
        yield keys[i : i + _CHUNK]


class SqlPaperNotes:
    """Reads and writes papers' notes by paper key."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._clock = clock

    def get(self, keys: Iterable[str]) -> dict[str, PaperNotes]:
        """The readable notes of those of ``keys`` that have some."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, PaperNotes] = {}
        n, p = paper_notes_t, papers_t
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    select(p.c.key, n.c.notes)
                    .join(n, n.c.paper_id == p.c.id)
                    .where(p.c.key.in_(chunk))
                )
                for key, text in rows:
                    notes = PaperNotes.from_json(text)
                    if notes is not None:
                        out[key] = notes
        return out

    def save(self, notes: Mapping[str, PaperNotes]) -> int:
        """Store ``notes`` (paper key -> notes), replacing what those papers had; keys the
        catalog does not hold are ignored. Returns how many rows were written."""
        if not notes:
            return 0
        now = self._clock()
        written = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(notes)):
                ids = conn.execute(
                    select(papers_t.c.key, papers_t.c.id).where(papers_t.c.key.in_(chunk))
                ).all()
                rows = [
                    {"paper_id": paper_id, "notes": notes[key].to_json(), "taken_at": now}
                    for key, paper_id in ids
                ]
                if not rows:
                    continue
                stmt = self._insert().values(rows)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["paper_id"],
                    set_={"notes": stmt.excluded.notes, "taken_at": stmt.excluded.taken_at},
                )
                conn.execute(stmt)
                written += len(rows)
        return written

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(paper_notes_t)
        return sqlite.insert(paper_notes_t)
