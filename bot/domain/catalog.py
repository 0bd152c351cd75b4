"""What the application needs from the catalog store, and the records it hands back.

storage.catalog.SqlCatalog implements :class:`Catalog` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.domain.ingest import SkippedEntry
from bot.domain.papers import Paper


@dataclass(slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class CatalogStats:
    papers: int
    authors: int  # distinct author names
    sources: int  # distinct sources that contributed papers
    categories: int
    versions: int
    newest_added: datetime | None
    newest_published: datetime | None
    per_source: dict[str, int] = field(default_factory=dict)
    top_categories: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ConditionalState:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class IngestRun:
    """The record of one ingest of one source."""

    source: str
    started_at: datetime
    status: str = "running"  # ok, empty, not_modified, failed
    finished_at: datetime | None = None
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    reason: str | None = None
    skipped_entries: list[SkippedEntry] = field(default_factory=list)
    id: int | None = None


class Catalog(Protocol):
    def upsert(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Store papers, merging each with the work already stored under the same key."""
        ...

    def get(self, key: str) -> Paper | None: ...

    def get_many(self, keys: Iterable[str]) -> list[Paper]: ...

    def find_by_doi(self, doi: str) -> Paper | None: ...

    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]: ...

    def count(self) -> int: ...

    def stats(self) -> CatalogStats: ...

    def source_state(self, name: str) -> ConditionalState: ...

    def save_source_state(
        self, name: str, url: str, fmt: str, state: ConditionalState, status: str
    ) -> None: ...

    def record_run(self, run: IngestRun) -> int: ...

    def recent_runs(self, limit: int = 20, source: str | None = None) -> list[IngestRun]: ...
