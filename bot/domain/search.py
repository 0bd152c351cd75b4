"""Search and listing lookups over the catalog: the port storage implements, and the functions the
front ends (Discord, console, CLI) call.

The query text is parsed once by bot.domain.query; storage compiles the tree for its backend
(SQLite FTS5 or PostgreSQL tsquery). Paging is 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.domain.papers import Paper
from bot.domain.query import Query, parse_query

MAX_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper: Paper
    score: float  # higher is better; 0.0 where the order is not by relevance


@dataclass(frozen=True, slots=True)
class ResultSlice:
    hits: list[SearchHit]
    total: int  # how many match in all (may be capped by the backend for very broad queries)


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


class SearchBackend(Protocol):
    """Implemented by storage (storage.search) for SQLite and PostgreSQL."""

    def search(self, query: Query, *, limit: int, offset: int) -> ResultSlice: ...

    def by_author(self, name: str, *, limit: int, offset: int) -> ResultSlice: ...

    def recent(self, category: str | None, *, limit: int, offset: int) -> ResultSlice: ...

    def similar(self, key: str, *, limit: int) -> list[SearchHit]: ...


def _page_args(page: int, page_size: int) -> tuple[int, int]:
    page = max(1, page)
    page_size = max(1, min(MAX_PAGE_SIZE, page_size))
    return page, page_size


def search_papers(
    backend: SearchBackend,
    text: str,
    *,
    page: int = 1,
    page_size: int = 5,
    today: date | None = None,
) -> SearchPage:
    """One page of results for a query typed by a person. Raises QueryError with its reason."""
    page, page_size = _page_args(page, page_size)
    query = parse_query(text, today=today)
    found = backend.search(query, limit=page_size, offset=(page - 1) * page_size)
    return SearchPage(found.hits, found.total, page, page_size)
