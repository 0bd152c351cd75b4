""":class:`TantivySearch`: the domain's SearchBackend answered by the tantivy index.

Searches and similar papers rank in tantivy (BM25, block-max WAND for plain ORs of words) and
the page's papers are then loaded from the database by id. Listings (``/recent``, ``/author``,
queries with no text condition) stay with the database, whose indexes answer them directly.

The index is checked at most every ``check_every`` seconds (its metadata file, and the newest
paper id: one primary-key lookup): when it is missing, of another schema or database, behind
the database (papers it has not seen) or unreadable, searches go to :class:`SqlSearch` and the
log says why, once per change. ``auto_update`` (the bot) then brings it up to date in a
background thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import tantivy
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from bot.domain.query import Or, Query, QueryError, Term
from bot.domain.search import ResultSlice, SearchHit, distinctive_words
from storage.catalog import SqlCatalog
from storage.fulltext.compile import Compiled, QueryCompiler
from storage.fulltext.index import (
    META_NAME,
    IndexUnavailable,
    ProgressFn,
    SearchIndex,
    UpdateResult,
    _engine_error,
    _identity,
    _max_id,
    analyze,
    paper_id_of,
    update_index,
)
from storage.search import (
    SqlSearch,
    _author_ids_sql,
    _query_error,
    _Sql,
)

__all__ = ["TantivySearch"]

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0
"""Seconds between checks that the index is present and level with the database."""
RETRY_EVERY = 60.0
"""With ``auto_update``, seconds between two background updates of an index still unusable."""

Hit = tuple[int, float]  # (papers.id, score)
T = TypeVar("T")


class TantivySearch:
    """:class:`bot.domain.search.SearchBackend` over the index at ``path``, with ``database``
    (default: :class:`SqlSearch` on ``engine``) answering listings and standing in whenever the
    index cannot."""

    def __init__(
        self,
        engine: Engine,
        path: Path,
        *,
        database: SqlSearch | None = None,
        check_every: float = CHECK_EVERY,
        auto_update: bool = False,
    ) -> None:
        self.engine = engine
        self.path = Path(path)
        self.database = database if database is not None else SqlSearch(engine)
        self.check_every = check_every
        self.auto_update = auto_update
        self._catalog = SqlCatalog(engine)
        self._index: SearchIndex | None = None
        self._opened_mtime: int | None = None
        self._checked = -math.inf
        self._problem: str | None = ""  # "" before the first check; None when in use
        self._lock = threading.Lock()
        self._update_lock = threading.Lock()  # one update at a time in this process
        self._updating: threading.Thread | None = None
        self._update_started = -math.inf

    # -- SearchBackend -----------------------------------------------------------------------

    def search(self, query: Query, *, limit: int, offset: int) -> ResultSlice:
        """One slice of the papers matching ``query``, best first (or newest with sort:recent)."""
        limit, offset = max(1, limit), max(0, offset)
        found = self._with_index(lambda index: self._search(index, query, limit, offset))
        if found is None:
            return self.database.search(query, limit=limit, offset=offset)
        return found

    def count(self, query: Query) -> tuple[int, bool]:
        """How many papers match ``query`` (exact: the index counts every match)."""
        found = self._with_index(lambda index: self._count_query(index, query))
        return found if found is not None else self.database.count(query)

    def by_author(self, name: str, *, limit: int, offset: int) -> ResultSlice:
        """An author's papers, newest first: the database's surname index answers it."""
        return self.database.by_author(name, limit=limit, offset=offset)

    def recent(self, category: str | None, *, limit: int, offset: int) -> ResultSlice:
        """The newest papers, in one category or archive or in all: a database listing."""
        return self.database.recent(category, limit=limit, offset=offset)

    def similar(self, key: str, *, limit: int) -> list[SearchHit]:
        """Papers most like the one stored under ``key``: its most distinctive words (frequent
        in it, rare in the catalog, as :meth:`SqlSearch.similar` picks them, with the index's
        document frequencies) searched as one OR."""
        limit = max(1, limit)
        found = self._with_index(lambda index: self._similar(index, key, limit))
        return found if found is not None else self.database.similar(key, limit=limit)

    # -- keeping the index in step -------------------------------------------------------------

    def update(self, *, progress: ProgressFn | None = None, rebuild: bool = False) -> UpdateResult:
        """Bring the index up to date (building it when missing or unusable, or with
        ``rebuild``). Raises IndexUnavailable when another process is writing it."""
        with self._update_lock:
            result = update_index(self.engine, self.path, progress=progress, rebuild=rebuild)
        self._checked = -math.inf  # look again at the next search
        return result

    def update_quietly(self, progress: ProgressFn | None = None) -> UpdateResult | None:
        """:meth:`update`, logging rather than raising: after an ingest or import, a failing
        index must not fail the ingest (searches fall back to the database meanwhile)."""
        try:
            return self.update(progress=progress)
        except IndexUnavailable as exc:
            log.warning("search index not updated: %s", exc.reason)
        except Exception:
            log.exception("search index update failed; searches use the database until it works")
        return None

    def status(self) -> tuple[bool, str]:
        """(in use, why not / what it holds), checking now."""
        self._checked = -math.inf
        index = self._current()
        if index is None:
            return False, self._problem or "unknown"
        return True, f"{index.meta.papers:,} papers indexed at {self.path}"

    # -- the index and the fallback --------------------------------------------------------------

    def _with_index(self, fn: Callable[[SearchIndex], T | None]) -> T | None:
        """``fn(index)``; None when the index cannot be used (the caller falls back). Query
        problems propagate as QueryError; a failure inside tantivy falls back, with a log line."""
        index = self._current()
        if index is None:
            return None
        try:
            return fn(index)
        except QueryError:
            raise
        except DBAPIError as exc:
            raise _query_error(exc) from exc
        except BaseException as exc:
            if not _engine_error(exc):
                raise
            log.error("search index failed (%s: %s): this search uses the database", type(exc), exc)
            return None

    def _current(self) -> SearchIndex | None:
        """The index when it can answer; None (and a log line when the reason changes) else."""
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return self._index if self._problem is None else None
        with self._lock:
            if now - self._checked < self.check_every:
                return self._index if self._problem is None else None
            problem = self._check()
            self._checked = time.monotonic()
            if problem != self._problem:
                if problem is None:
                    assert self._index is not None
                    log.info(
                        "search: the full-text index at %s is in use (%d papers)",
                        self.path,
                        self._index.meta.papers,
                    )
                else:
                    log.warning("search: using the database, not the full-text index: %s", problem)
            self._problem = problem
        if problem is not None and self.auto_update:
            self._update_in_background()
        return self._index if problem is None else None

    def _check(self) -> str | None:
        """Why the index cannot answer now, or None. Reopens it when its metadata changed."""
        try:
            mtime = (self.path / META_NAME).stat().st_mtime_ns
        except OSError:
            self._index = None
            return f"no search index at {self.path} (build it: paperbot db search-index)"
        try:
            with self.engine.connect() as conn:
                if self._index is None or mtime != self._opened_mtime:
                    index = SearchIndex.open(self.path)
                    identity = _identity(conn)
                    if index.meta.database and identity and identity != index.meta.database:
                        raise IndexUnavailable(
                            f"the index at {self.path} was built from another database "
                            "(rebuild it: paperbot db search-index --rebuild)"
                        )
                    self._index, self._opened_mtime = index, mtime
                newest = _max_id(conn)
        except IndexUnavailable as exc:
            self._index = None
            return exc.reason
        meta = self._index.meta
        if newest > meta.max_id:
            return (
                f"the index is behind the database (papers up to id {meta.max_id:,} indexed, "
                f"up to {newest:,} stored; update it: paperbot db search-index)"
            )
        if newest < meta.max_id:
            return (
                f"the index holds papers the database does not (ids up to {meta.max_id:,}, "
                f"database up to {newest:,}): rebuild it: paperbot db search-index --rebuild"
            )
        return None

    def _update_in_background(self) -> None:
        with self._lock:
            if self._updating is not None and self._updating.is_alive():
                return
            if time.monotonic() - self._update_started < RETRY_EVERY:
                return
            self._update_started = time.monotonic()
            self._updating = threading.Thread(
                target=self.update_quietly, name="search-index-update", daemon=True
            )
            self._updating.start()

    # -- answering -----------------------------------------------------------------------------

    def _compiler(self, searcher: tantivy.Searcher) -> QueryCompiler:
        def prefix_terms(field: str, start: str, limit: int) -> list[str]:
            return [t for t, _ in searcher.terms_with_prefix(field, start, limit=limit)]

        return QueryCompiler(self._author_ids, prefix_terms)

    def _author_ids(self, words: tuple[str, ...]) -> list[int]:
        """Papers with an author named by all of ``words``, through the surname index (the
        database backend's own rule for ``author:"..."``)."""
        sql = _Sql()
        inner = _author_ids_sql(sql, words)
        with self._connect() as conn:
            return [int(r[0]) for r in conn.execute(sql.stmt(inner))]

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _search(
        self, index: SearchIndex, query: Query, limit: int, offset: int
    ) -> ResultSlice | None:
        searcher = index.searcher()
        compiled = self._compiler(searcher).compile(query)
        if compiled is None:
            return None  # no text condition: a database listing
        need = offset + limit
        hits, total = self._top(searcher, compiled, need, by_date=query.sort == "recent")
        return self._slice(hits[offset:], total, offset)

    def _count_query(self, index: SearchIndex, query: Query) -> tuple[int, bool] | None:
        searcher = index.searcher()
        compiled = self._compiler(searcher).compile(query)
        if compiled is None:
            return None
        return _count(searcher, compiled.query), False

    @staticmethod
    def _top(
        searcher: tantivy.Searcher, compiled: Compiled, need: int, *, by_date: bool
    ) -> tuple[list[Hit], int]:
        """The best ``need`` hits and how many match in all. Counting in the same pass costs
        little: the words that match most papers, the costly ones, are too common for
        block-max WAND to skip much of them anyway."""
        if by_date or not compiled.scored:
            found = searcher.search(
                compiled.query,
                limit=need,
                count=True,
                order_by_field="recent",
                order=tantivy.Order.Desc,
            )
            hits = [(paper_id_of(int(key)), 0.0) for key, _ in found.hits]
        else:
            found = searcher.search(compiled.query, limit=need, count=True)
            hits = _ranked(searcher, found.hits)
        return hits, int(getattr(found, "count", 0) or 0)  # (the type stubs omit count)

    def _slice(self, hits: list[Hit], total: int, offset: int) -> ResultSlice:
        papers = self._catalog.get_by_ids([i for i, _ in hits])
        if len(papers) == len(hits):
            pairs = list(zip(hits, papers, strict=True))
        else:  # a paper left the database after the index saw it
            pairs = [((i, s), got[0]) for i, s in hits if (got := self._catalog.get_by_ids([i]))]
        out = [SearchHit(paper, _finite(score)) for (_, score), paper in pairs]
        return ResultSlice(out, max(total, offset + len(out)), False)

    def _similar(self, index: SearchIndex, key: str, limit: int) -> list[SearchHit]:
        with self._connect() as conn:
            row = conn.execute(
                text("SELECT id, title, abstract FROM papers WHERE key = :key"), {"key": key}
            ).first()
        if row is None:
            return []
        paper_id = int(row[0])
        searcher = index.searcher()
        chosen = _distinctive_words(searcher, row[1] or "", row[2] or "")
        if not chosen:
            return []
        terms = tuple(Term(w) for w in chosen)
        tree = terms[0] if len(terms) == 1 else Or(terms)
        compiled = self._compiler(searcher).compile(Query(tree))
        if compiled is None:
            return []
        # The paper itself is dropped here rather than excluded in the query: a plain OR of
        # terms is what tantivy ranks with block-max WAND.
        found = searcher.search(compiled.query, limit=limit + 1, count=False)
        hits = [h for h in _ranked(searcher, found.hits) if h[0] != paper_id]
        log.debug("similar to %d: %s", paper_id, chosen)
        return self._slice(hits[:limit], 0, 0).hits


def _ranked(searcher: tantivy.Searcher, hits: list[tuple[float, tantivy.DocAddress]]) -> list[Hit]:
    """(id, score), best first; equal scores newest (highest id) first, as SQL orders them."""
    if not hits:
        return []
    ids = searcher.fast_field_values("pid", [address for _, address in hits])
    pairs = [
        (int(i), float(score)) for i, (score, _) in zip(ids, hits, strict=True) if i is not None
    ]
    pairs.sort(key=lambda h: (-h[1], -h[0]))
    return pairs


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    found = searcher.search(query, limit=1, count=True)
    return int(getattr(found, "count", 0) or 0)  # (the type stubs omit count)


def _finite(score: float) -> float:
    return score if math.isfinite(score) else 0.0


def _distinctive_words(searcher: tantivy.Searcher, title: str, abstract: str) -> list[str]:
    """The words :meth:`SqlSearch.similar` would search for, with the index's document
    frequencies (the largest over title, authors and abstract: a lower bound of the papers
    holding the word anywhere)."""

    def doc_freqs(words: Sequence[str], max_df: int) -> dict[str, int]:
        df: dict[str, int] = {}
        for w in words:
            d = 0
            for field in ("title", "abstract", "author"):
                for token in analyze(field, w)[:1]:
                    d = max(d, searcher.doc_freq(field, token))
            df[w] = d
        return df

    return distinctive_words(title, abstract, searcher.num_docs, doc_freqs)
