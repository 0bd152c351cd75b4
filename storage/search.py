"""Ranked full-text search over the catalog: SQLite FTS5 and PostgreSQL tsvector.

:class:`SqlSearch` implements :class:`bot.domain.search.SearchBackend`. A parsed
:class:`~bot.domain.query.Query` is compiled in three steps (docs/search.md has the rules, the
ranking weights, the guards and the known differences between the backends):

1. **Split** the text tree into a full-text part (``F``: terms, prefixes and phrases combined with
   AND, OR and AND-NOT, answered by the index) and a *residual* (``R``: conditions the index cannot
   answer — ``org:``, "the same author has all these names", exclusions without a positive side),
   such that a paper matches exactly when it matches both. Stop-words outside phrases are dropped
   first: they match nearly every paper and PostgreSQL does not index them.
2. **Render** the full-text part for the backend: an FTS5 MATCH string in which every word is an
   FTS5 string (``"word"``), or a tsquery built from lexemes PostgreSQL itself produced, quoted by
   us. Nothing typed by a person reaches SQL or FTS syntax: words are bound parameters or quoted.
3. **Plan**: rank every text match when there are few enough; otherwise (a *broad* query) rank
   the newest matches (a window) and report the total as a lower bound. bm25 is computed only for
   matches that pass the filters (``cat:``, ``id:``, dates) and the residual; on SQLite a small
   filter set is collected and probed inside the FTS5 query. Thresholds: :class:`SqlSearch`.

Every database error caused by a query becomes a :class:`~bot.domain.query.QueryError`; only an
unreachable database propagates (as SQLAlchemy's OperationalError).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from os.path import commonprefix
from typing import Any, Literal, TypeAlias

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.elements import BindParameter, TextClause

from bot.domain.categories import ARCHIVES, is_category
from bot.domain.query import (
    And,
    AnyOf,
    CategoryFilter,
    DateRange,
    Filter,
    IdFilter,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    QueryError,
    Term,
    is_stopword,
    leaves,
    stem,
    tokenize,
)
from bot.domain.search import ResultSlice, SearchHit, distinctive_words, surname_forms
from storage.catalog import SqlCatalog
from storage.types import UTCDateTime

__all__ = [
    "FILTER_SET_MAX",
    "SQLITE_WEIGHTS",
    "TEXT_CAP",
    "WINDOW",
    "SqlSearch",
    "fts5_match",
]

log = logging.getLogger(__name__)

TEXT_CAP = 10_000
"""Matches are counted up to this many, and ranked all together up to this many; a query with
more is *broad*: its newest WINDOW matches are ranked and its total is a lower bound."""
WINDOW = 5_000
"""How many of a broad query's newest text matches are ranked (widened when filters reject)."""
FILTER_SET_MAX = 10_000
"""SQLite: filters matching at most this many papers are collected and intersected with the
text matches inside the FTS5 query; more are checked per text match."""
LOOKUP_MAX = 500
"""SQLite: a broad text inside at most this many filtered papers is looked up paper by paper."""
SQLITE_WEIGHTS = (10.0, 5.0, 1.0)
"""bm25 column weights: title, authors, abstract (the order of papers_fts's columns)."""
PG_WEIGHTS = "{0, 0.1, 0.5, 1.0}"
"""ts_rank_cd weights {D, C, B, A}: abstract C, authors B, title A; SQLite's ratios, over ten."""
PG_FREQ_SCALE = 10.0
"""Brings ts_rank_cd's weighted frequency to SQLite's scale (weights 1, 5 and 10)."""
PG_TEXT_CAP = 2_000
"""PostgreSQL counts up to this many matches: each costs a heap visit, and a phrase or field
match a detoasted tsvector, several times SQLite's streaming count."""
PG_RANK_ALL = 2_000
"""PostgreSQL ranks every match up to this many (each costs a detoasted tsvector, several times
SQLite's bm25); beyond it, its newest PG_WINDOW matches."""
PG_WINDOW = 1_000
PG_DF_CAP = 100_000
"""PostgreSQL counts a word's papers (for idf) up to this many; the counts are cached, and words
the planner statistics already know as common are not counted."""
BM25_K1 = 1.2
BM25_B = 0.75
TIMEOUT_SECONDS = 5.0
"""A search running longer is stopped and reported as too broad."""
PROGRESS_STEPS = 10_000
"""SQLite checks the time limit every this many virtual-machine steps."""

_CACHE_SECONDS = 600.0
_CACHE_MAX = 20_000

Field: TypeAlias = Literal["title", "abstract", "author"] | None

# --- the split: a full-text part and a residual --------------------------------------------------


@dataclass(frozen=True, slots=True)
class FLeaf:
    """A term, a prefix (``words`` has one word) or a phrase, in one FTS field or all."""

    kind: Literal["term", "prefix", "phrase"]
    words: tuple[str, ...]
    field: Field = None


@dataclass(frozen=True, slots=True)
class FAnd:
    """All of ``children`` (at least one) and none of ``negs``."""

    children: tuple[FNode, ...]
    negs: tuple[FNode, ...] = ()


@dataclass(frozen=True, slots=True)
class FOr:
    children: tuple[FNode, ...]


FNode: TypeAlias = FLeaf | FAnd | FOr


@dataclass(frozen=True, slots=True)
class RFts:
    """A full-text condition evaluated per paper (inside OR/NOT with a residual)."""

    node: FNode


@dataclass(frozen=True, slots=True)
class ROrg:
    """``org:`` — a substring match on the affiliations text (no index; see docs)."""

    leaf: Term | Phrase


@dataclass(frozen=True, slots=True)
class RAuthor:
    """One author of the paper has every word of ``words`` in their name (initials match), one
    of the words being the author's surname (found through the surname index)."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RSameAuthor:
    """As RAuthor, whatever the surname: checked paper by paper (the author lookup's fallback)."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RAnd:
    children: tuple[RNode, ...]


@dataclass(frozen=True, slots=True)
class ROr:
    children: tuple[RNode, ...]


@dataclass(frozen=True, slots=True)
class RNot:
    child: RNode


RNode: TypeAlias = RFts | ROrg | RAuthor | RSameAuthor | RAnd | ROr | RNot


@dataclass(frozen=True, slots=True)
class Part:
    """A node is true for a paper exactly when ``fts`` and ``res`` are (None: no condition)."""

    fts: FNode | None
    res: RNode | None

    @property
    def is_true(self) -> bool:
        return self.fts is None and self.res is None


TRUE = Part(None, None)


def _and_r(items: Sequence[RNode]) -> RNode | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else RAnd(tuple(items))


def _as_residual(part: Part) -> RNode:
    items: list[RNode] = []
    if part.fts is not None:
        items.append(RFts(part.fts))
    if part.res is not None:
        items.append(part.res)
    node = _and_r(items)
    assert node is not None
    return node


def _split(node: Node, indexable: Callable[[str], bool]) -> Part:
    """The full-text part and residual of ``node``. ``indexable(word)`` says whether the backend's
    index holds ``word`` at all (PostgreSQL drops its stop-words, even from author names)."""
    if isinstance(node, Term):
        return _split_term(node, indexable)
    if isinstance(node, Phrase):
        return _split_phrase(node, indexable)
    if isinstance(node, Not):
        inner = _split(node.child, indexable)
        # Excluding a stop-word would exclude nearly everything; it is ignored like the word.
        return TRUE if inner.is_true else Part(None, RNot(_as_residual(inner)))
    if isinstance(node, And):
        return _split_and(node, indexable)
    parts = [_split(child, indexable) for child in node.children]
    if any(p.is_true for p in parts):
        return TRUE
    if all(p.res is None for p in parts):
        return Part(FOr(tuple(p.fts for p in parts if p.fts is not None)), None)
    fts: FNode | None = None
    if all(p.fts is not None for p in parts):
        fts = FOr(tuple(p.fts for p in parts if p.fts is not None))
    return Part(fts, ROr(tuple(_as_residual(p) for p in parts)))


def _split_term(node: Term, indexable: Callable[[str], bool]) -> Part:
    word = node.text
    if node.field == "org":
        return Part(None, ROrg(node))
    if node.field == "author":
        if node.prefix or len(word) == 1:
            # An initial alone: any name word starting with it.
            return Part(FLeaf("prefix", (word,), "author"), None)
        if indexable(word):
            return Part(FLeaf("term", (word,), "author"), None)
        return Part(None, RAuthor((word,)))
    if node.prefix:
        return Part(FLeaf("prefix", (word,), node.field), None)
    if is_stopword(word):
        return TRUE
    return Part(FLeaf("term", (word,), node.field), None)


def _split_phrase(node: Phrase, indexable: Callable[[str], bool]) -> Part:
    if node.field == "org":
        return Part(None, ROrg(node))
    if node.field == "author":
        # One author has every word (an initial standing for a word it starts, both ways),
        # found through the surname index: one of the words is that author's last name.
        return Part(None, RAuthor(node.words))
    if all(is_stopword(w) for w in node.words):
        return TRUE
    return Part(FLeaf("phrase", node.words, node.field), None)


def _split_and(node: And, indexable: Callable[[str], bool]) -> Part:
    positive: list[FNode] = []
    negs: list[FNode] = []
    residual: list[RNode] = []
    for child in node.children:
        if isinstance(child, Not):
            inner = _split(child.child, indexable)
            if inner.is_true:
                continue
            if inner.res is None and inner.fts is not None:
                negs.append(inner.fts)
            else:
                residual.append(RNot(_as_residual(inner)))
            continue
        part = _split(child, indexable)
        if part.fts is not None:
            positive.append(part.fts)
        if part.res is not None:
            residual.append(part.res)
    if not positive:
        # Nothing for the index to find: exclusions are checked per paper.
        residual.extend(RNot(RFts(n)) for n in negs)
        return Part(None, _and_r(residual))
    fts: FNode = (
        positive[0] if len(positive) == 1 and not negs else FAnd(tuple(positive), tuple(negs))
    )
    return Part(fts, _and_r(residual))


def _positive_leaves(node: FNode) -> Iterator[FLeaf]:
    if isinstance(node, FLeaf):
        yield node
    else:
        for child in node.children:
            yield from _positive_leaves(child)


# --- SQL assembly -------------------------------------------------------------------------------


class _Sql:
    """Bound parameters for one request: every value from a query is bound, never inlined."""

    def __init__(self) -> None:
        self._binds: dict[str, BindParameter[Any]] = {}

    def bind(self, value: Any, type_: Any = None) -> str:
        name = f"p{len(self._binds)}"
        self._binds[name] = bindparam(name, value, type_=type_)
        return f":{name}"

    def stmt(self, sql: str) -> TextClause:
        used = set(re.findall(r":(p\d+)\b", sql))
        return text(sql).bindparams(*(b for n, b in self._binds.items() if n in used))


# The day a paper is listed under (what since:, until:, year: and sort:recent mean). Never NULL:
# added_at is required. Written exactly as ix_papers_day (migration 0002) so the index serves it.
DAY = "coalesce(p.published, p.updated, p.added_at)"
ORDER_RECENT = f"{DAY} DESC, p.id DESC"
# A folded author name with the usual punctuation as spaces and a space at each end, so that
# LIKE '% word %' finds a whole word and LIKE '% w%' a word starting with w.
_NAME_PUNCTUATION = (".", "-", ",", "'", "\u2019", "(", ")", '"')


def _spaced_name(column: str) -> str:
    expr = column
    for c in _NAME_PUNCTUATION:
        quoted = c.replace("'", "''")
        expr = f"replace({expr}, '{quoted}', ' ')"
    return f"(' ' || {expr} || ' ')"


def _name_word_sql(sql: _Sql, name: str, word: str) -> str:
    """The author-name rule of bot.domain.query.evaluate as SQL: the word equals a word of the
    name, or one of the two is a single letter the other starts with."""
    if len(word) == 1:
        return f"{name} LIKE {sql.bind(f'% {word}%')}"
    return f"({name} LIKE {sql.bind(f'% {word} %')} OR {name} LIKE {sql.bind(f'% {word[0]} %')})"


def _author_sql(sql: _Sql, words: Sequence[str], alias: str = "pa") -> str:
    name = _spaced_name(f"{alias}.name_folded")
    return " AND ".join(_name_word_sql(sql, name, w) for w in dict.fromkeys(words))


def _surnames(words: Sequence[str], typed: str = "") -> list[str]:
    """What the surname of an author named by ``words`` may be stored as
    (:func:`bot.domain.search.surname_forms`), in a stable order for the query."""
    return sorted(surname_forms(words, typed))


def _author_ids_sql(sql: _Sql, words: Sequence[str], typed: str = "") -> str:
    """The ids of the papers with an author named by ``words`` (see RAuthor), by surname."""
    marks = ", ".join(sql.bind(s) for s in _surnames(words, typed)) or "NULL"
    return (
        f"SELECT pa.paper_id FROM paper_authors pa WHERE pa.surname_folded IN ({marks}) "
        f"AND {_author_sql(sql, words)}"
    )


def _day_bound(day: date, *, next_day: bool = False) -> datetime:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment + timedelta(days=1) if next_day else moment


def _filter_sql(sql: _Sql, f: Filter, *, probe: bool = False) -> str:
    """SQL over ``papers AS p`` for a filter. A category is written as ``p.id IN (...)``, which
    lets the planner start from the category's papers (best when they are few), or with
    ``probe`` as a correlated EXISTS checked per paper (best when walking the date index or the
    text matches of a popular category)."""
    if isinstance(f, AnyOf):
        return "(" + " OR ".join(_filter_sql(sql, o, probe=probe) for o in f.options) + ")"
    if isinstance(f, DateRange):
        parts = []
        if f.since is not None:
            parts.append(f"{DAY} >= {sql.bind(_day_bound(f.since), UTCDateTime())}")
        if f.until is not None and f.until < date.max:
            until = _day_bound(f.until, next_day=True)
            parts.append(f"{DAY} < {sql.bind(until, UTCDateTime())}")
        return "(" + " AND ".join(parts) + ")" if parts else "1 = 1"
    if isinstance(f, IdFilter):
        value = sql.bind(f.arxiv_id)
        if f.exclude:
            return f"NOT (p.key = {value} OR coalesce(p.arxiv_id, '') = {value})"
        return f"(p.key = {value} OR p.arxiv_id = {value})"
    column = "archive" if f.whole_archive else "category"
    negation = "NOT " if f.exclude else ""
    if probe:
        return (
            f"{negation}EXISTS (SELECT 1 FROM paper_categories c WHERE c.paper_id = p.id AND "
            f"c.{column} = {sql.bind(f.code)})"
        )
    return (
        f"p.id {negation}IN (SELECT paper_id FROM paper_categories WHERE {column} = "
        f"{sql.bind(f.code)})"
    )


def _org_pattern(leaf: Term | Phrase) -> str:
    if isinstance(leaf, Term):
        words: tuple[str, ...] = (leaf.text,)
        prefix = leaf.prefix
    else:
        words, prefix = leaf.words, False
    # The common start of a word and its stem matches both (universit for universities).
    cores = [w if prefix else commonprefix([w, stem(w)]) or w for w in words]
    return "%" + "%".join(cores) + "%"


def _and_sql(conditions: Sequence[str]) -> str:
    return " AND ".join(c for c in conditions if c) or "1 = 1"


Render: TypeAlias = Callable[[FNode], str | None]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One query ready to run. ``text`` is the rendered full-text part (an FTS5 MATCH string or
    tsquery text; None: no text condition); ``filters`` and ``residual`` are SQL over
    ``papers AS p``."""

    sql: _Sql
    text: str | None
    leaves: tuple[str, ...]  # rendered positive leaves (PostgreSQL's ranking)
    filters: tuple[str, ...]  # categories as IN (...): the filter drives
    probes: tuple[str, ...]  # the same filters, categories as EXISTS: checked per paper
    residual: str | None
    big_filters: bool = False  # every filter is a category with more than filter_set_max papers
    only_category: int | None = None  # the papers of the one category filter, when that is all
    skip: int | None = None  # a paper id to leave out (similar papers)
    text_kinds: str = ""  # "*" when the full-text part has a prefix

    def skip_sql(self, column: str) -> str:
        return "" if self.skip is None else f"{column} <> {self.sql.bind(self.skip)}"

    @property
    def conditions(self) -> tuple[str, ...]:
        return self.filters + ((self.residual,) if self.residual else ())

    @property
    def probe_conditions(self) -> tuple[str, ...]:
        return self.probes + ((self.residual,) if self.residual else ())


@dataclass(slots=True)
class _Found:
    ids: list[tuple[int, float]]
    total: int
    capped: bool = False


class _TimedCache:
    """A small cache whose entries expire (document frequencies, lexemes, corpus size)."""

    def __init__(self, seconds: float = _CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        hit = self._data.get(key)
        if hit is None or time.monotonic() - hit[0] > self._seconds:
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) >= _CACHE_MAX:
            self._data.clear()
        self._data[key] = (time.monotonic(), value)


# --- the public class ---------------------------------------------------------------------------


class SqlSearch:
    """:class:`bot.domain.search.SearchBackend` on a SQLAlchemy engine (SQLite or PostgreSQL).

    The thresholds are parameters so tests can make a small catalog behave like a large one:
    ``text_cap`` (count matches up to this many; SQLite TEXT_CAP, PostgreSQL PG_TEXT_CAP),
    ``rank_all`` (rank every match up to this
    many; SQLite: text_cap, PostgreSQL: PG_RANK_ALL), ``window`` (a broader query ranks its
    newest this-many matches), ``filter_set_max`` (SQLite: filters matching at most this many
    papers are intersected with the text matches inside the FTS5 query), ``lookup_max``
    (SQLite: a broad text within at most this many filtered papers is looked up per paper).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        text_cap: int | None = None,
        window: int | None = None,
        rank_all: int | None = None,
        filter_set_max: int = FILTER_SET_MAX,
        lookup_max: int = LOOKUP_MAX,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        sqlite = engine.dialect.name == "sqlite"
        self.engine = engine
        self.text_cap = text_cap if text_cap is not None else TEXT_CAP if sqlite else PG_TEXT_CAP
        self.rank_all = (
            rank_all if rank_all is not None else self.text_cap if sqlite else PG_RANK_ALL
        )
        self.window = window if window is not None else WINDOW if sqlite else PG_WINDOW
        self.filter_set_max = filter_set_max
        self.lookup_max = lookup_max
        self.timeout = timeout
        self._catalog = SqlCatalog(engine)
        self._impl: _Backend = _Sqlite(self) if sqlite else _Postgres(self)

    # -- SearchBackend -----------------------------------------------------------------------

    def search(self, query: Query, *, limit: int, offset: int) -> ResultSlice:
        """One slice of the papers matching ``query``, best first (or newest with sort:recent)."""
        limit, offset = max(1, limit), max(0, offset)
        with self._guard() as conn:
            found = self._impl.run(conn, query.text_tree, query.filters, query.sort, limit, offset)
        return self._slice(found, offset)

    def count(self, query: Query) -> tuple[int, bool]:
        """How many papers match ``query``, and whether that is a lower bound (capped)."""
        with self._guard() as conn:
            found = self._impl.run(conn, query.text_tree, query.filters, "recent", 1, 0)
        return found.total, found.capped

    def by_author(self, name: str, *, limit: int, offset: int) -> ResultSlice:
        """An author's papers, newest first; accents, initials and word order do not matter."""
        limit, offset = max(1, limit), max(0, offset)
        words = tokenize(name)
        if not words:
            raise QueryError("give an author's name, e.g. Yann LeCun or lecun y")
        with self._guard() as conn:
            found = self._impl.by_author(conn, name, words, limit, offset)
        return self._slice(found, offset)

    def recent(self, category: str | None, *, limit: int, offset: int) -> ResultSlice:
        """The newest papers, in one category or archive (``cs.CL``, ``cs``) or in all."""
        limit, offset = max(1, limit), max(0, offset)
        filters: tuple[Filter, ...] = ()
        if category:
            if is_category(category):
                filters = (CategoryFilter(category),)
            elif category.lower() in ARCHIVES:
                filters = (CategoryFilter(category.lower(), whole_archive=True),)
            else:
                raise QueryError(f"'{category}' is not an arXiv category (try cs.CL or math.PR)")
        with self._guard() as conn:
            found = self._impl.run(conn, None, filters, "recent", limit, offset)
        return self._slice(found, offset)

    def similar(self, key: str, *, limit: int) -> list[SearchHit]:
        """Papers most like the one stored under ``key``, by the words of its title and abstract.

        The paper's most distinctive words (frequent in it, rare in the catalog) are searched for
        with OR through the index, so only papers sharing them are scored; the paper itself is
        left out. An unknown key gives no papers.
        """
        limit = max(1, limit)
        with self._guard() as conn:
            row = conn.execute(
                text("SELECT id, title, abstract FROM papers WHERE key = :key"), {"key": key}
            ).first()
            if row is None:
                return []
            found = self._impl.similar(conn, int(row[0]), row[1] or "", row[2] or "", limit)
        return self._slice(found, 0).hits

    # -- helpers -----------------------------------------------------------------------------

    def _slice(self, found: _Found, offset: int) -> ResultSlice:
        ids = [i for i, _ in found.ids]
        papers = self._catalog.get_by_ids(ids)
        if len(papers) == len(ids):
            pairs = list(zip(found.ids, papers, strict=True))
        else:  # a paper was deleted after the query ran
            pairs = [
                ((i, s), got[0]) for i, s in found.ids if (got := self._catalog.get_by_ids([i]))
            ]
        hits = [SearchHit(paper, _finite(score)) for (_, score), paper in pairs]
        return ResultSlice(hits, max(found.total, offset + len(hits)), found.capped)

    @contextmanager
    def _guard(self) -> Iterator[Connection]:
        """A connection with a time limit; database errors a query causes become QueryError."""
        try:
            with self.engine.connect() as conn, self._impl.session(conn, self.timeout):
                yield conn
        except DBAPIError as exc:
            raise _query_error(exc) from exc


def _window_size(window: int, need: int) -> int:
    """The window a broad query ranks for a page ending at ``need``: ``window`` doubled until it
    holds the page, so that the pages of one window are consistent with each other."""
    size = max(1, window)
    while size < need:
        size *= 2
    return size


def _finite(score: float | None) -> float:
    if score is None or not math.isfinite(score):
        return 0.0
    return float(score)


_TOO_SLOW = re.compile(r"interrupted|canceling statement|statement timeout", re.IGNORECASE)
_QUERY_FAULT = re.compile(r"fts5|syntax error|tsquery|unterminated|malformed", re.IGNORECASE)


def _query_error(exc: DBAPIError) -> Exception:
    message = str(exc.orig)
    if _TOO_SLOW.search(message):
        return QueryError(
            "the search took too long: add more specific words or a filter such as cat:cs.CL "
            "or since:30d"
        )
    if isinstance(exc, OperationalError) and not _QUERY_FAULT.search(message):
        return exc  # the database is unreachable or locked: not a problem with the query
    log.error("search query failed: %s", message)
    return QueryError(
        "the search could not run this query; try fewer punctuation marks or simpler words"
    )


# --- what both backends share -------------------------------------------------------------------


class _Backend:
    """Planning over filters, the author lookup, listings and similar papers; the backends fill
    in the full-text parts."""

    def __init__(self, owner: SqlSearch) -> None:
        self.owner = owner
        self._count = _TimedCache(60.0)

    @contextmanager
    def session(self, conn: Connection, seconds: float) -> Iterator[None]:
        yield

    def prepare(
        self, conn: Connection, tree: Node
    ) -> tuple[str | None, tuple[str, ...], RNode | None, Render]:
        """The rendered full-text part, its rendered positive leaves, the residual, and the
        renderer for full-text nodes inside the residual."""
        raise NotImplementedError

    def fts_condition(self, sql: _Sql, rendered: str) -> str:
        """SQL over ``papers AS p``: the paper matches the rendered full-text condition."""
        raise NotImplementedError

    def ranked(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        raise NotImplementedError

    def by_date(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        raise NotImplementedError

    def word_df(self, conn: Connection, words: list[str], cap: int) -> dict[str, int]:
        """How many papers hold each word (any field), counting up to ``cap``."""
        raise NotImplementedError

    def paper_count(self, conn: Connection) -> int:
        """How many papers the catalog holds (cached for a minute: counting is a full scan)."""
        hit = self._count.get("papers")
        if hit is None:
            hit = int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
            self._count.put("papers", hit)
        return int(hit)

    def category_sizes(self, conn: Connection, filters: Sequence[Filter]) -> dict[Filter, int]:
        """How many papers each (positive) category filter lists, counted up to
        filter_set_max + 1: a larger one is checked per paper rather than collected.
        PostgreSQL's planner knows this from its statistics."""
        return {}

    # -- shared ------------------------------------------------------------------------------

    def run(
        self,
        conn: Connection,
        tree: Node | None,
        filters: Sequence[Filter],
        sort: str,
        limit: int,
        offset: int,
        exclude_id: int | None = None,
        extra: RNode | None = None,
    ) -> _Found:
        sql = _Sql()
        rendered: str | None = None
        leaves_: tuple[str, ...] = ()
        residual: str | None = None
        drivers: list[str] = []
        if tree is not None:
            rendered, leaves_, res_node, render = self.prepare(conn, tree)
            if extra is not None:
                res_node = extra if res_node is None else RAnd((res_node, extra))
            # An author condition required by the whole query is found through the surname
            # index: it narrows like a filter.
            parts = res_node.children if isinstance(res_node, RAnd) else (res_node,)
            authors = [r for r in parts if isinstance(r, RAuthor)]
            rest = [r for r in parts if r is not None and not isinstance(r, RAuthor)]
            drivers = [self.residual_sql(sql, r, render) for r in authors]
            res_node = _and_r(rest)
            if res_node is not None:
                residual = self.residual_sql(sql, res_node, render)
        sizes = self.category_sizes(conn, filters)
        big = {f for f, n in sizes.items() if n > self.owner.filter_set_max}
        filter_sql = [_filter_sql(sql, f, probe=f in big) for f in filters] + drivers
        probe_sql = [_filter_sql(sql, f, probe=True) for f in filters] + drivers
        big_only = bool(filters) and not drivers and len(big) == len(filters)
        only = None
        if (
            len(filters) == 1
            and filters[0] in sizes
            and exclude_id is None
            and residual is None
            and not drivers
        ):
            only = sizes[filters[0]]
        plan = _Plan(
            sql,
            rendered,
            leaves_,
            tuple(filter_sql),
            tuple(probe_sql),
            residual,
            big_only,
            only,
            exclude_id,
            "*"
            if tree is not None
            and any(isinstance(leaf, Term) and leaf.prefix for leaf in leaves(tree))
            else "",
        )
        if rendered is None:
            return self.listing(conn, plan, limit, offset)
        if sort == "recent":
            return self.by_date(conn, plan, limit, offset)
        return self.ranked(conn, plan, limit, offset)

    def listing(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        """Papers passing the filters and residual, newest first: no text to rank by. Few papers
        pass: start from them and sort; many: walk the date index and check each paper."""
        sql = plan.sql
        where = _and_sql([*plan.conditions, plan.skip_sql("p.id")])
        if plan.only_category is not None:
            cap = self.owner.text_cap
            total, capped = min(plan.only_category, cap), plan.only_category > cap
        else:
            total, capped = self.capped_count(conn, sql, f"SELECT 1 FROM papers p WHERE {where}")
        if capped:
            where = _and_sql([*plan.probe_conditions, plan.skip_sql("p.id")])
        rows = conn.execute(
            sql.stmt(
                f"SELECT p.id FROM papers p WHERE {where} ORDER BY {ORDER_RECENT} "
                f"LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
            )
        ).all()
        return _Found([(int(r[0]), 0.0) for r in rows], total, capped)

    def capped_count(self, conn: Connection, sql: _Sql, inner: str) -> tuple[int, bool]:
        """The rows of ``inner``, counted up to text_cap; (text_cap, True) beyond."""
        cap = self.owner.text_cap
        n = int(
            conn.execute(
                sql.stmt(f"SELECT count(*) FROM ({inner} LIMIT {sql.bind(cap + 1)}) AS c")
            ).scalar_one()
        )
        return (cap, True) if n > cap else (n, False)

    def residual_sql(self, sql: _Sql, node: RNode, render: Render) -> str:
        if isinstance(node, RFts):
            rendered = render(node.node)
            return "1 = 1" if rendered is None else self.fts_condition(sql, rendered)
        if isinstance(node, ROrg):
            return f"lower(p.affiliations_text) LIKE {sql.bind(_org_pattern(node.leaf))}"
        if isinstance(node, RAuthor):
            # Not correlated: the few papers of that surname are collected once.
            return f"p.id IN ({_author_ids_sql(sql, node.words)})"
        if isinstance(node, RSameAuthor):
            return (
                "EXISTS (SELECT 1 FROM paper_authors pa WHERE pa.paper_id = p.id AND "
                f"{_author_sql(sql, node.words)})"
            )
        if isinstance(node, RNot):
            return f"NOT ({self.residual_sql(sql, node.child, render)})"
        joiner = " AND " if isinstance(node, RAnd) else " OR "
        return "(" + joiner.join(self.residual_sql(sql, c, render) for c in node.children) + ")"

    def by_author(
        self, conn: Connection, name: str, words: list[str], limit: int, offset: int
    ) -> _Found:
        """Driven by the surname index: any typed word may be the surname (``o'brien`` as typed
        too); every typed word must then be in that author's name, an initial standing for a
        word it starts. Falls back to the authors field of the full-text index."""
        sql = _Sql()
        authors = _author_ids_sql(sql, words, name)
        total = int(
            conn.execute(
                sql.stmt(f"SELECT count(DISTINCT a.paper_id) FROM ({authors}) AS a")
            ).scalar_one()
        )
        if total:
            rows = conn.execute(
                sql.stmt(
                    f"SELECT p.id FROM papers p WHERE p.id IN ({authors}) ORDER BY "
                    f"{ORDER_RECENT} LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
                )
            ).all()
            return _Found([(int(r[0]), 0.0) for r in rows], total)
        # No author with one of the words as surname (given names alone): the full words in
        # the authors field of the index, then one author with all the words, paper by paper.
        full = tuple(dict.fromkeys(w for w in words if len(w) > 1))
        if not full:
            return _Found([], 0)
        terms = tuple(Term(w, "author") for w in full)
        tree: Node = terms[0] if len(terms) == 1 else And(terms)
        same = RSameAuthor(tuple(words)) if len(words) > 1 else None
        return self.run(conn, tree, (), "recent", limit, offset, extra=same)

    def similar(
        self, conn: Connection, paper_id: int, title: str, abstract: str, limit: int
    ) -> _Found:
        """An OR of the paper's most distinctive words, ranked like any search."""
        chosen = distinctive_words(
            title,
            abstract,
            self.paper_count(conn),
            lambda words, max_df: self.word_df(conn, list(words), max_df),
        )
        if not chosen:
            return _Found([], 0)
        terms = tuple(Term(w) for w in chosen)
        tree: Node = terms[0] if len(terms) == 1 else Or(terms)
        found = self.run(conn, tree, (), "relevance", limit, 0, exclude_id=paper_id)
        log.debug("similar to %d: %s", paper_id, chosen)
        return found


# --- SQLite: FTS5 -------------------------------------------------------------------------------

_FTS_COLUMNS = {"title": "title", "author": "authors_folded", "abstract": "abstract"}
_BM25 = "bm25(papers_fts, {!r}, {!r}, {!r})".format(*SQLITE_WEIGHTS)


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts5_match(node: FNode) -> str:
    """The FTS5 MATCH text of a full-text node. Every word is an FTS5 string, so nothing typed
    is read as FTS5 syntax (NEAR, ^, column filters, operators)."""
    if isinstance(node, FLeaf):
        if node.kind == "phrase":
            body = _fts_string(" ".join(node.words))
        elif node.kind == "prefix":
            body = _fts_string(node.words[0]) + " *"
        else:
            body = _fts_string(node.words[0])
        if node.field is None:
            return body
        return "{" + _FTS_COLUMNS[node.field] + "} : " + body
    if isinstance(node, FOr):
        return "(" + " OR ".join(fts5_match(c) for c in node.children) + ")"
    positive = " AND ".join(fts5_match(c) for c in node.children)
    negs = "".join(f" NOT {fts5_match(n)}" for n in node.negs)
    return f"(({positive}){negs})"


def _sqlite_render(node: FNode) -> str | None:
    return fts5_match(node)


class _Sqlite(_Backend):
    """FTS5. The text matches stream cheaply in rowid order; bm25 is the costly part (about
    0.5 us a row), so it is computed only for rows that pass the filters, and a broad query
    only scores its newest matches."""

    @contextmanager
    def session(self, conn: Connection, seconds: float) -> Iterator[None]:
        driver = conn.connection.driver_connection
        setter = getattr(driver, "set_progress_handler", None)
        if setter is None:
            yield
            return
        end = time.monotonic() + seconds

        def check() -> int:
            return 1 if time.monotonic() > end else 0

        setter(check, PROGRESS_STEPS)
        try:
            yield
        finally:
            setter(None, 0)

    def prepare(
        self, conn: Connection, tree: Node
    ) -> tuple[str | None, tuple[str, ...], RNode | None, Render]:
        part = _split(tree, lambda w: True)
        rendered = None if part.fts is None else fts5_match(part.fts)
        return rendered, (), part.res, _sqlite_render

    def fts_condition(self, sql: _Sql, rendered: str) -> str:
        return f"p.id IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH {sql.bind(rendered)})"

    def category_sizes(self, conn: Connection, filters: Sequence[Filter]) -> dict[Filter, int]:
        # Reads the category's index entries only (an archive's in paper order, so DISTINCT
        # streams).
        sizes: dict[Filter, int] = {}
        cap = max(self.owner.filter_set_max, self.owner.text_cap)
        for f in filters:
            if isinstance(f, CategoryFilter) and not f.exclude:
                column = "archive" if f.whole_archive else "category"
                sizes[f] = int(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM (SELECT DISTINCT paper_id FROM paper_categories "
                            f"WHERE {column} = :code LIMIT :cap)"
                        ),
                        {"code": f.code, "cap": cap + 1},
                    ).scalar_one()
                )
        return sizes

    # -- the pieces of a plan ------------------------------------------------------------------

    def _text_count(self, conn: Connection, plan: _Plan, m: str, window: int) -> tuple[int, int]:
        """The text matches counted up to text_cap + 1, and the rowid of the ``window``-th
        newest (0 when there are fewer)."""
        sql = plan.sql
        cap = self.owner.text_cap + 1
        if "*" not in plan.text_kinds:
            n = int(
                conn.execute(
                    sql.stmt(
                        "SELECT count(*) FROM (SELECT rowid FROM papers_fts WHERE papers_fts "
                        f"MATCH {m} LIMIT {sql.bind(cap)})"
                    )
                ).scalar_one()
            )
            if n <= self.owner.rank_all or n < min(window, cap):
                return n, 0
            return n, self._window_floor(conn, plan, m, window)
        # A prefix query merges its words' doclists on every pass: one pass for both.
        row = conn.execute(
            sql.stmt(
                "SELECT count(*), min(CASE WHEN n = "
                f"{sql.bind(window)} THEN id END) FROM (SELECT id, row_number() OVER "
                "(ORDER BY id DESC) AS n FROM (SELECT rowid AS id FROM papers_fts WHERE "
                f"papers_fts MATCH {m} ORDER BY rowid DESC LIMIT {sql.bind(cap)}))"
            )
        ).one()
        n = int(row[0])
        if row[1] is not None:
            return n, int(row[1])
        if n >= cap and window > cap:
            return n, self._window_floor(conn, plan, m, window)
        return n, 0

    def _filter_ids(self, conn: Connection, plan: _Plan) -> list[int] | None:
        """The ids of the papers passing the filters, or None when there are more than
        filter_set_max."""
        sql = plan.sql
        cap = self.owner.filter_set_max
        rows = conn.execute(
            sql.stmt(
                f"SELECT p.id FROM papers p WHERE {_and_sql(plan.filters)} "
                f"LIMIT {sql.bind(cap + 1)}"
            )
        ).all()
        return None if len(rows) > cap else [int(r[0]) for r in rows]

    def _window_floor(self, conn: Connection, plan: _Plan, m: str, window: int) -> int:
        """The rowid of the ``window``-th newest text match; 0 when there are fewer."""
        sql = plan.sql
        row = conn.execute(
            sql.stmt(
                f"SELECT rowid FROM papers_fts WHERE papers_fts MATCH {m} "
                f"ORDER BY rowid DESC LIMIT 1 OFFSET {sql.bind(window - 1)}"
            )
        ).first()
        return int(row[0]) if row is not None else 0

    def _strategy(
        self, conn: Connection, plan: _Plan, m: str, window: int
    ) -> tuple[str, int, int, list[int] | None]:
        """How to answer a text query, from the capped text count and, when the filters pass
        few papers, their ids:

        * ``all``: at most rank_all text matches: score them all (filters checked per match);
        * ``set``: as ``all``, the matches probing the collected filter set;
        * ``window``: broad text: score the newest ``window`` matches, widened while filters
          leave the page short;
        * ``lookup``: broad text inside a very small filter set: each paper of the set is
          looked up in the index, and the matches are listed newest first (unscored);
        * ``none``: nothing can match.

        Also the capped text count and the rowid of the ``window``-th newest text match.
        """
        n_text, floor = self._text_count(conn, plan, m, window)
        if n_text == 0:
            return "none", 0, 0, None
        ids = self._filter_ids(conn, plan) if plan.filters and not plan.big_filters else None
        if ids is not None and not ids:
            return "none", n_text, 0, None
        if n_text <= self.owner.rank_all:
            strategy = "set" if ids is not None and len(ids) < n_text else "all"
            return strategy, n_text, 0, ids
        if ids is not None and len(ids) <= self.owner.lookup_max:
            return "lookup", n_text, 0, ids
        return "window", n_text, floor, ids

    def _from(
        self, plan: _Plan, m: str, ids: list[int] | None, floor: int
    ) -> tuple[str, str, bool]:
        """FROM and WHERE over ``papers_fts f`` (joined to ``papers p`` when needed)."""
        sql = plan.sql
        where = [f"papers_fts MATCH {m}", plan.skip_sql("f.rowid")]
        # Each text match is checked against the filters: they match more papers than the
        # text does, or too many to collect.
        conditions = list(plan.probe_conditions)
        if ids is not None:
            # The collected filter set is probed by each text match in its id range; the +
            # keeps SQLite from making it one FTS5 lookup per id, each far dearer.
            where.append(f"f.rowid BETWEEN {sql.bind(min(ids))} AND {sql.bind(max(ids))}")
            where.append(f"+f.rowid IN (SELECT value FROM json_each({sql.bind(json.dumps(ids))}))")
            conditions = [plan.residual] if plan.residual else []
        if floor:
            where.append(f"f.rowid >= {sql.bind(floor)}")
        if conditions:
            return (
                "papers_fts f CROSS JOIN papers p ON p.id = f.rowid",
                _and_sql(where + conditions),
                True,
            )
        return "papers_fts f", _and_sql(where), False

    def _lookup(
        self, conn: Connection, plan: _Plan, m: str, ids: list[int], limit: int, offset: int
    ) -> _Found:
        sql = plan.sql
        # Without the +, SQLite asks FTS5 for each id in turn (no bm25: it would recount the
        # words' documents for every id).
        matched = (
            f"SELECT f.rowid FROM papers_fts f WHERE papers_fts MATCH {m} AND "
            f"f.rowid IN (SELECT value FROM json_each({sql.bind(json.dumps(ids))}))"
        )
        where = _and_sql([f"p.id IN ({matched})", plan.residual or "", plan.skip_sql("p.id")])
        rows = conn.execute(
            sql.stmt(
                f"SELECT p.id, count(*) OVER () FROM papers p WHERE {where} "
                f"ORDER BY {ORDER_RECENT} LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
            )
        ).all()
        if rows:
            total = int(rows[0][1])
        else:
            total = int(
                conn.execute(sql.stmt(f"SELECT count(*) FROM papers p WHERE {where}")).scalar_one()
            )
        return _Found([(int(r[0]), 0.0) for r in rows], total)

    def _text(
        self, conn: Connection, plan: _Plan, limit: int, offset: int, *, ranked: bool
    ) -> _Found:
        assert plan.text is not None
        sql = plan.sql
        m = sql.bind(plan.text)
        need = offset + limit
        window = _window_size(self.owner.window, need)
        strategy, n_text, floor, ids = self._strategy(conn, plan, m, window)
        if strategy == "none":
            return _Found([], 0)
        if strategy == "lookup":
            assert ids is not None
            return self._lookup(conn, plan, m, ids, limit, offset)
        while True:
            source, where, joined = self._from(plan, m, ids, floor)
            # Every passing row is visited for the ordering: count them in the same pass.
            if ranked:
                # bm25 is evaluated for the rows that pass WHERE only. (An auxiliary function
                # cannot sit beside a window function: hence the subquery.)
                inner = f"SELECT f.rowid AS id, {_BM25} AS r FROM {source} WHERE {where}"
                select, order = "r", "r, id DESC"
            else:
                if not joined:
                    source += " CROSS JOIN papers p ON p.id = f.rowid"
                inner = f"SELECT f.rowid AS id, {DAY} AS d FROM {source} WHERE {where}"
                select, order = "0.0", "d DESC, id DESC"
            rows = conn.execute(
                sql.stmt(
                    f"SELECT id, {select}, count(*) OVER () FROM ({inner}) ORDER BY {order} "
                    f"LIMIT {sql.bind(need)}"
                )
            ).all()
            if len(rows) >= need or floor == 0:
                break
            # The window held too few that pass the filters: widen it.
            window *= 8
            floor = self._window_floor(conn, plan, m, window)
        hits = [(int(r[0]), -float(r[1]) if ranked else 0.0) for r in rows[offset:]]
        total = int(rows[0][2]) if rows else 0
        if floor:
            # Only the newest matches were looked at: the total is a lower bound.
            if not plan.conditions:
                total = max(total, min(n_text, self.owner.text_cap))
            return _Found(hits, total, True)
        return _Found(hits, total)

    def ranked(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        return self._text(conn, plan, limit, offset, ranked=True)

    def by_date(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        return self._text(conn, plan, limit, offset, ranked=False)

    def word_df(self, conn: Connection, words: list[str], cap: int) -> dict[str, int]:
        out: dict[str, int] = {}
        statement = text(
            "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH :m LIMIT :cap)"
        )
        for w in words:
            out[w] = int(conn.execute(statement, {"m": _fts_string(w), "cap": cap}).scalar_one())
        return out


# --- PostgreSQL: tsvector -----------------------------------------------------------------------

_PG_WEIGHT = {"title": "A", "author": "B", "abstract": "C"}
# The lexemes of one word: one tuple per token the parser found in it (usually one), holding
# that token's lexemes (empty for a stop-word).
Lexemes: TypeAlias = tuple[tuple[str, ...], ...]
# A paper's text length in bytes, BM25's document length; octet_length reads it from the TOAST
# header without decompressing.
_PG_LENGTH = "(octet_length(p.title) + octet_length(p.abstract) + octet_length(p.authors_folded))"


_PLAIN_LEXEME = re.compile(r"'([^'\\]*)'")


def _tsq_lexeme(lexeme: str, suffix: str) -> str:
    quoted = "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":" + suffix if suffix else "")


def _tsq_operand(lexemes: Sequence[str], suffix: str) -> str:
    ops = [_tsq_lexeme(lx, suffix) for lx in dict.fromkeys(lexemes)]
    return ops[0] if len(ops) == 1 else "(" + " | ".join(ops) + ")"


@dataclass(frozen=True, slots=True)
class _TsQuery:
    """Renders full-text nodes as tsquery text from lexemes PostgreSQL produced for each word."""

    lexemes: dict[str, Lexemes]

    def __call__(self, node: FNode) -> str | None:
        """The tsquery text of ``node``; None where no word of it is indexed (always true)."""
        if isinstance(node, FLeaf):
            return self._leaf(node)
        if isinstance(node, FOr):
            parts = [self(c) for c in node.children]
            if any(p is None for p in parts):
                return None
            return "(" + " | ".join(p for p in parts if p) + ")"
        positive = [p for p in (self(c) for c in node.children) if p]
        negative = [f"!{n}" for n in (self(c) for c in node.negs) if n]
        items = positive + negative
        return "(" + " & ".join(items) + ")" if items else None

    def _leaf(self, leaf: FLeaf) -> str | None:
        weight = _PG_WEIGHT.get(leaf.field or "", "")
        if leaf.kind == "prefix":
            word = leaf.words[0]
            found = [t for t in self.lexemes.get(word, ()) if t]
            # The stem (transform for transformers*) as the index holds it; a stop-word's own
            # letters (the* finds theory).
            lexeme = found[0][0] if len(found) == 1 and len(found[0]) == 1 else word
            return _tsq_lexeme(lexeme, "*" + weight)
        positions: list[tuple[int, tuple[str, ...]]] = []
        at = 0
        for word in leaf.words:
            tokens = self.lexemes.get(word, ())
            if not tokens:
                at += 1
            for token in tokens:
                if token:
                    positions.append((at, token))
                at += 1
        if not positions:
            return None
        out = _tsq_operand(positions[0][1], weight)
        for (before, _), (here, lexemes) in pairwise(positions):
            # Stop-words keep their place in the index: "state of the art" is state <3> art.
            out += f" <{here - before}> " + _tsq_operand(lexemes, weight)
        return f"({out})" if len(positions) > 1 else out


class _Postgres(_Backend):
    """tsvector with a GIN index. Filters go in the same statement (the planner combines the
    indexes); ranking is BM25 computed from ts_rank_cd per query word (see docs/search.md)."""

    def __init__(self, owner: SqlSearch) -> None:
        super().__init__(owner)
        self._lexemes = _TimedCache()
        self._df = _TimedCache()
        self._stats = _TimedCache(60.0)
        self._config: str | None = None

    @contextmanager
    def session(self, conn: Connection, seconds: float) -> Iterator[None]:
        # The planner does not price detoasting a tsvector, so it picks a sequential scan for
        # common words that costs ten times the GIN bitmap.
        conn.exec_driver_sql(
            f"SET LOCAL statement_timeout = {int(seconds * 1000)}; SET LOCAL enable_seqscan = off"
        )
        yield

    def config(self, conn: Connection) -> str:
        """The text search configuration of search_vector: ``paperbot_english`` (english with
        accents folded, migration 0002) where the unaccent extension was available, else
        ``english``."""
        if self._config is None:
            found = conn.execute(
                text(
                    "SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace "
                    "WHERE c.cfgname = 'paperbot_english' AND n.nspname = current_schema()"
                )
            ).first()
            self._config = "paperbot_english" if found is not None else "english"
        return self._config

    def lexemes(self, conn: Connection, words: Sequence[str]) -> dict[str, Lexemes]:
        """What the index's text search configuration makes of each word (cached)."""
        out: dict[str, Lexemes] = {}
        missing = []
        for w in dict.fromkeys(words):
            hit = self._lexemes.get(w)
            if hit is None:
                missing.append(w)
            else:
                out[w] = hit
        if missing:
            found: dict[str, list[tuple[str, ...]]] = {w: [] for w in missing}
            rows = conn.execute(
                text(
                    "SELECT w.word, d.lexemes FROM unnest(CAST(:words AS text[])) "
                    "WITH ORDINALITY AS w(word, i) CROSS JOIN LATERAL "
                    "ts_debug(CAST(:config AS regconfig), w.word) WITH ORDINALITY AS d(alias, "
                    "description, token, dictionaries, dictionary, lexemes, j) ORDER BY w.i, d.j"
                ),
                {"words": missing, "config": self.config(conn)},
            ).all()
            for word, lexemes in rows:
                if lexemes is not None:  # None: a token no dictionary takes (blanks, symbols)
                    found[word].append(tuple(lexemes))
            for w, tokens in found.items():
                value = tuple(tokens)
                self._lexemes.put(w, value)
                out[w] = value
        return out

    def prepare(
        self, conn: Connection, tree: Node
    ) -> tuple[str | None, tuple[str, ...], RNode | None, Render]:
        words = [w for leaf in leaves(tree) for w in _leaf_words(leaf)]
        render = _TsQuery(self.lexemes(conn, words))
        part = _split(tree, lambda w: any(render.lexemes.get(w, ())))
        if part.fts is None:
            return None, (), part.res, render
        rendered = render(part.fts)
        if rendered is None:
            return None, (), part.res, render
        ranked = tuple(r for r in (render(leaf) for leaf in _positive_leaves(part.fts)) if r)
        return rendered, ranked, part.res, render

    def fts_condition(self, sql: _Sql, rendered: str) -> str:
        return f"p.search_vector @@ CAST({sql.bind(rendered)} AS tsquery)"

    # -- statistics for BM25 ---------------------------------------------------------------------

    def corpus(self, conn: Connection) -> tuple[int, float]:
        """(papers, average text length in bytes), cached for a minute."""
        hit = self._stats.get("corpus")
        if hit is not None:
            return int(hit[0]), float(hit[1])
        estimate = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST('papers' AS regclass)")
        ).scalar_one()
        if estimate is not None and estimate > 100_000:
            n = int(estimate)
        else:
            n = int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
        average = conn.execute(
            text(
                f"SELECT avg({_PG_LENGTH}) FROM (SELECT title, abstract, authors_folded FROM "
                "papers ORDER BY id DESC LIMIT 2000) AS p"
            )
        ).scalar_one()
        value = (max(1, n), float(average or 0.0) or 1.0)
        self._stats.put("corpus", value)
        return value

    def paper_count(self, conn: Connection) -> int:
        return self.corpus(conn)[0]

    def common(self, conn: Connection) -> dict[str, float]:
        """The most common lexemes and the share of papers holding each, from the planner's
        statistics (ANALYZE); empty before the first ANALYZE. Cached."""
        hit = self._stats.get("common")
        if hit is not None:
            found: dict[str, float] = hit
            return found
        row = conn.execute(
            text(
                "SELECT CAST(CAST(most_common_elems AS text) AS text[]), most_common_elem_freqs "
                "FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'papers' AND "
                "attname = 'search_vector'"
            )
        ).first()
        common: dict[str, float] = {}
        if row is not None and row[0] is not None and row[1] is not None:
            common = {str(lx): float(f) for lx, f in zip(row[0], row[1], strict=False)}
        self._stats.put("common", common)
        return common

    def query_df(self, conn: Connection, queries: Sequence[str], cap: int) -> dict[str, int]:
        """How many papers match each tsquery, counted up to ``cap`` (cached)."""
        out: dict[str, int] = {}
        missing = []
        for q in dict.fromkeys(queries):
            hit = self._df.get((q, cap))
            if hit is None:
                missing.append(q)
            else:
                out[q] = int(hit)
        if missing:
            rows = conn.execute(
                text(
                    "SELECT q.t, (SELECT count(*) FROM (SELECT 1 FROM papers WHERE search_vector "
                    "@@ CAST(q.t AS tsquery) LIMIT :cap) AS s) FROM unnest(CAST(:qs AS text[])) "
                    "AS q(t)"
                ),
                {"qs": missing, "cap": cap},
            ).all()
            for q, n in rows:
                self._df.put((q, cap), int(n))
                out[q] = int(n)
        return out

    def word_df(self, conn: Connection, words: list[str], cap: int) -> dict[str, int]:
        lexemes = self.lexemes(conn, words)
        n = self.paper_count(conn)
        common = self.common(conn)
        out: dict[str, int] = {}
        queries: dict[str, str] = {}
        for w in words:
            tokens = [t for t in lexemes.get(w, ()) if t]
            if len(tokens) != 1:
                continue
            share = max((common.get(lx, 0.0) for lx in tokens[0]), default=0.0)
            if share * n >= cap:
                out[w] = cap  # known to be common: not worth counting
            else:
                queries[w] = _tsq_operand(tokens[0], "")
        counts = self.query_df(conn, list(queries.values()), cap)
        out.update({w: counts.get(q, 0) for w, q in queries.items()})
        return out

    def _score_sql(self, conn: Connection, sql: _Sql, leaves_: tuple[str, ...]) -> str:
        """BM25 as FTS5 computes it: per query word, idf times saturated weighted frequency;
        ts_rank_cd without normalisation gives the weighted frequency of one word. ``d.sv`` is
        the paper's tsvector detoasted once (see _text)."""
        n, average = self.corpus(conn)
        common = self.common(conn)
        df: dict[str, int] = {}
        for q in leaves_:
            plain = _PLAIN_LEXEME.fullmatch(q)
            share = common.get(plain.group(1), 0.0) if plain else 0.0
            if share * n > PG_DF_CAP / 10:
                df[q] = int(share * n)  # common: the statistics' estimate saves a long count
        df.update(self.query_df(conn, [q for q in leaves_ if q not in df], PG_DF_CAP))
        norm = f"{BM25_K1!r} * (1 - {BM25_B!r} + {BM25_B!r} * {_PG_LENGTH} / {sql.bind(average)})"
        weights = f"CAST({sql.bind(PG_WEIGHTS)} AS real[])"
        terms = []
        for q in dict.fromkeys(leaves_):
            d = df.get(q, 0)
            idf = max(1e-6, math.log((n - d + 0.5) / (d + 0.5)))
            freq = (
                f"({PG_FREQ_SCALE!r} * ts_rank_cd({weights}, d.sv, CAST({sql.bind(q)} AS tsquery),"
                " 0))"
            )
            terms.append(f"{sql.bind(idf)} * {freq} * {BM25_K1 + 1!r} / ({freq} + {norm})")
        return " + ".join(terms) or "0.0"

    # -- plans -------------------------------------------------------------------------------

    def _window_floor(self, conn: Connection, plan: _Plan, where: str, need: int) -> int:
        """The lowest id of the newest papers holding about ``window`` matches, estimated from
        the rate of matches among the newest ids (a sample grown until it holds enough)."""
        sql = plan.sql
        top = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one())
        wanted = _window_size(self.owner.window, need)
        sample = min(top, 2 * wanted)
        while True:
            in_sample = int(
                conn.execute(
                    sql.stmt(
                        f"SELECT count(*) FROM papers p WHERE {where} AND "
                        f"p.id > {sql.bind(top - sample)}"
                    )
                ).scalar_one()
            )
            if in_sample >= wanted // 4 or sample >= top:
                break
            sample = min(top, sample * 8)
        span = sample * wanted // max(1, in_sample)
        return max(0, top - span)

    def _text(
        self, conn: Connection, plan: _Plan, limit: int, offset: int, *, ranked: bool
    ) -> _Found:
        assert plan.text is not None
        sql = plan.sql
        where = _and_sql(
            [self.fts_condition(sql, plan.text), *plan.conditions, plan.skip_sql("p.id")]
        )
        total, capped = self.capped_count(conn, sql, f"SELECT 1 FROM papers p WHERE {where}")
        if total == 0:
            return _Found([], 0)
        page = f"LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
        if not ranked:
            rows = conn.execute(
                sql.stmt(
                    f"SELECT p.id, 0.0 FROM papers p WHERE {where} ORDER BY {ORDER_RECENT} {page}"
                )
            ).all()
            return _Found([(int(i), 0.0) for i, _ in rows], total, capped)
        score = self._score_sql(conn, sql, plan.leaves)
        # OFFSET 0 keeps the lateral subquery from being flattened, so the tsvector is
        # detoasted once per paper rather than once per query word.
        source = (
            "papers p CROSS JOIN LATERAL (SELECT p.search_vector || CAST('' AS tsvector) AS sv "
            "OFFSET 0) AS d"
        )
        floor = ""
        if capped or total > self.owner.rank_all:
            # Broad: rank the newest matches rather than scoring every one.
            low = self._window_floor(conn, plan, where, offset + limit)
            floor = f" AND p.id >= {sql.bind(low)}" if low > 0 else ""
        order = f"s DESC, {ORDER_RECENT}"
        rows = conn.execute(
            sql.stmt(
                f"SELECT p.id, {score} AS s FROM {source} WHERE {where}{floor} "
                f"ORDER BY {order} {page}"
            )
        ).all()
        if floor and len(rows) < limit:
            rows = conn.execute(
                sql.stmt(
                    f"SELECT p.id, {score} AS s FROM {source} WHERE {where} ORDER BY {order} {page}"
                )
            ).all()
        return _Found([(int(i), float(sc)) for i, sc in rows], total, capped)

    def ranked(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        return self._text(conn, plan, limit, offset, ranked=True)

    def by_date(self, conn: Connection, plan: _Plan, limit: int, offset: int) -> _Found:
        return self._text(conn, plan, limit, offset, ranked=False)


def _leaf_words(leaf: Term | Phrase) -> tuple[str, ...]:
    return (leaf.text,) if isinstance(leaf, Term) else leaf.words
