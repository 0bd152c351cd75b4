"""The catalog on SQLite or PostgreSQL: papers with authors, categories, versions and sources."""

from __future__ import annotations

import json
import logging
import operator
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import Dialect

from bot.domain.catalog import CatalogStats, ConditionalState, IngestRun, UpsertCounts
from bot.domain.ingest import SkippedEntry
from bot.domain.papers import (
    Author,
    Paper,
    PaperVersion,
    fold,
    merge,
    normalise_doi,
    surname,
    title_key,
)
from storage.db import WalCheckpointer, bulk_checkpoints
from storage.models import (
    Base,
    IngestRunRow,
    PaperAuthorRow,
    PaperCategoryRow,
    PaperRow,
    PaperSourceRow,
    PaperVersionRow,
    SourceRow,
)

log = logging.getLogger(__name__)

papers_t: Table = Base.metadata.tables[PaperRow.__tablename__]
authors_t: Table = Base.metadata.tables[PaperAuthorRow.__tablename__]
categories_t: Table = Base.metadata.tables[PaperCategoryRow.__tablename__]
versions_t: Table = Base.metadata.tables[PaperVersionRow.__tablename__]
sources_t: Table = Base.metadata.tables[PaperSourceRow.__tablename__]
source_state_t: Table = Base.metadata.tables[SourceRow.__tablename__]
ingest_runs_t: Table = Base.metadata.tables[IngestRunRow.__tablename__]

# Bound parameters per statement stay well under SQLite's limit (32,766) and PostgreSQL's (65,535).
_IN_CHUNK = 500
_WRITE_IN_CHUNK = 5000
_MAX_RUN_DETAILS = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    it = iter(papers)
    while batch := list(islice(it, size)):
        yield batch


def _archive(category: str) -> str:
    return category.split(".", 1)[0]


def _is_derived_key(key: str) -> bool:
    """A key made from a DOI or a title, not an arXiv id."""
    return key.startswith(("doi:", "t:"))


def _comparable(paper: Paper) -> Paper:
    return replace(paper, announce_type=None)


# The rows the write path builds, as tuples in these column orders (ids come from the database).
_PAPER_COLUMNS = (
    "key",
    "arxiv_id",
    "version",
    "title",
    "abstract",
    "authors_text",
    "authors_folded",
    "affiliations_text",
    "primary_category",
    "published",
    "updated",
    "doi",
    "title_key",
    "journal_ref",
    "comment",
    "url",
    "pdf_url",
    "changed_at",
)
_AUTHOR_COLUMNS = ("paper_id", "position", "name", "name_folded", "surname_folded", "affiliations")
_CATEGORY_COLUMNS = ("paper_id", "category", "archive", "position", "is_primary")
_VERSION_COLUMNS = ("paper_id", "version", "submitted")
_SOURCE_COLUMNS = ("paper_id", "source", "position")
_CHILD_TABLES = (
    (authors_t, _AUTHOR_COLUMNS),
    (categories_t, _CATEGORY_COLUMNS),
    (versions_t, _VERSION_COLUMNS),
    (sources_t, _SOURCE_COLUMNS),
)
# Bound values per multi-row INSERT on SQLite (500 papers, 1,500 authors a statement). One
# statement per row would make the FTS5 trigger flush its pending index data once per row (a
# statement savepoint each), which doubles the cost of a papers insert. Few long statements also
# let a parsing thread run while SQLite works (the GIL is released for the statement).
# PostgreSQL gets COPY.
_VALUES_PER_INSERT = 9000
_SQLITE_DEFAULT_MAX_VARIABLES = 999  # SQLite before 3.32, when the limit cannot be asked

_Row = tuple[Any, ...]


def _unbound(value: Any) -> Any:
    return value


class _Binders:
    """The bind processors of the typed columns the write path fills, for one dialect.

    ``UTCDateTime`` to naive UTC, booleans to 0/1 on SQLite: the values Core would bind, so rows
    written through the driver are the rows ``conn.execute(insert(table), dicts)`` writes. Each
    distinct datetime is bound once per memo (a paper's dates are its versions' dates).
    """

    def __init__(self, dialect: Dialect | None) -> None:
        def processor(column: Any) -> Callable[[Any], Any]:
            if dialect is None:
                return _unbound
            found = column.type.dialect_impl(dialect).bind_processor(dialect)
            return found or _unbound

        # Every datetime column of the write path is a UTCDateTime: one processor serves all.
        self._datetime = processor(papers_t.c.published)
        for column in (papers_t.c.updated, papers_t.c.changed_at, versions_t.c.submitted):
            if not isinstance(column.type, type(papers_t.c.published.type)):
                raise TypeError(f"{column} is not a {papers_t.c.published.type!r}")
        self.flag = processor(categories_t.c.is_primary)

    def datetime(self, value: datetime | None, memo: dict[Any, Any]) -> Any:
        if value is None:
            return None
        done = memo.get(value)
        if done is None:
            done = memo[value] = self._datetime(value)
        return done


_UNBOUND = _Binders(None)


class _Folds(dict[str, tuple[str, str]]):
    """``name -> (folded name, folded surname)``, each name folded once (authors repeat).

    ``limit``: the most names kept; once there are more, the memo starts afresh (a memo that
    outlives one batch stays bounded however large the import).
    """

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self._limit = limit

    def __missing__(self, name: str) -> tuple[str, str]:
        if self._limit is not None and len(self) >= self._limit:
            self.clear()
        value = self[name] = (fold(name), fold(surname(name))[:200])
        return value


# Names whose folds :meth:`SqlCatalog.prepare` keeps from batch to batch (a few MB at most):
# prolific authors come back batch after batch, and folding is a tenth of preparing a paper.
_PREPARE_FOLDS = 16_384


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A new paper's rows, built ahead of its transaction (see :meth:`SqlCatalog.prepare`).

    ``row`` is the papers row without its two timestamps; child rows leave out ``paper_id``.
    Values are bound for the dialect they were built for.
    """

    paper: Paper
    title_key: str
    row: _Row
    children: tuple[list[_Row], list[_Row], list[_Row], list[_Row]]


def _build(
    paper: Paper,
    tkey: str,
    binders: _Binders,
    memo: dict[Any, Any],
    folds: _Folds,
) -> tuple[_Row, tuple[list[_Row], list[_Row], list[_Row], list[_Row]]]:
    """The papers row (in :data:`_PAPER_COLUMNS` order, without ``changed_at``) and the child
    rows (in their columns' order, without ``paper_id``) of ``paper``."""
    bind_dt = binders.datetime
    authors: list[_Row] = []
    folded: list[str] = []
    for pos, a in enumerate(paper.authors):
        name = a.name
        name_folded, surname_folded = folds[name]
        folded.append(name_folded)
        authors.append((pos, name, name_folded, surname_folded, "\n".join(a.affiliations)))
    row = (
        paper.key,
        paper.arxiv_id,
        paper.version,
        paper.title,
        paper.abstract,
        ", ".join([a.name for a in paper.authors]),
        " ".join(folded),
        "; ".join(paper.affiliations),
        paper.primary_category,
        bind_dt(paper.published, memo),
        bind_dt(paper.updated, memo),
        paper.doi,
        tkey,
        paper.journal_ref,
        paper.comment,
        paper.url,
        paper.pdf_url,
    )
    flag = binders.flag
    categories = [
        (cat, _archive(cat), pos, flag(pos == 0))
        for pos, cat in enumerate(dict.fromkeys(paper.categories))
    ]
    if len(paper.versions) == 1:
        v = paper.versions[0]
        versions = [(v.version, bind_dt(v.submitted, memo))]
    else:
        unique = {v.version: v for v in paper.versions}.values()
        versions = [(v.version, bind_dt(v.submitted, memo)) for v in unique]
    sources = [(src, pos) for pos, src in enumerate(dict.fromkeys(paper.sources))]
    return row, (authors, categories, versions, sources)


def _paper_row(paper: Paper, changed_at: Any) -> _Row:
    """A papers row in :data:`_PAPER_COLUMNS` order, values unbound (for Core)."""
    row, _ = _build(paper, title_key(paper), _UNBOUND, {}, _Folds())
    return (*row, changed_at)


def _child_rows(items: list[tuple[int, Paper]]) -> tuple[list[_Row], ...]:
    """Rows of paper_authors, paper_categories, paper_versions and paper_sources (unbound)."""
    out: tuple[list[_Row], ...] = ([], [], [], [])
    folds = _Folds()
    for pid, p in items:
        _, children = _build(p, "", _UNBOUND, {}, folds)
        for rows, new in zip(out, children, strict=True):
            rows.extend([(pid, *r) for r in new])
    return out


class PreparedPapers(list[Paper]):
    """Papers with their rows built ahead: what :meth:`SqlCatalog.prepare` returns.

    A plain list of papers to anything else; :meth:`SqlCatalog.upsert` uses the rows built for a
    paper when that very paper is inserted as it is (not merged with another record first).
    """

    __slots__ = ("plan", "prepared")

    def __init__(self) -> None:
        super().__init__()
        self.prepared: dict[int, _Prepared] = {}
        self.plan: _Plan | None = None


# Statement parameters of a whole batch, ready to bind: each entry is the number of rows of one
# multi-row INSERT and its values, flat.
_Statements = list[tuple[int, tuple[Any, ...]]]
# The staging table's columns a plan fills: the papers row but for its two timestamps, which the
# INSERT ... SELECT into papers adds (the batch's time is known only as it is stored).
_PLAN_STAGE_COLUMNS = ("id", *_PAPER_COLUMNS[:-1])


@dataclass(frozen=True, slots=True)
class _Plan:
    """A batch's INSERT statements for a bulk load into SQLite, bound ahead on the parsing thread.

    Paper ids are not known until the batch is stored (one more than the highest stored), so the
    rows carry each paper's position in the batch instead, as their first value; each statement
    adds the id before the first (``?1``, bound as it runs). The papers go in one statement when
    SQLite takes that many values (:attr:`direct`), else through the staging table in several
    (:attr:`stage`): either way one statement reaches papers and its full-text trigger. The
    writing thread then only binds and runs the statements. Used only when the papers inserted
    are exactly :attr:`papers`, in order.
    """

    papers: list[Paper]
    direct: tuple[int, tuple[Any, ...]] | None
    stage: _Statements
    children: tuple[_Statements, ...]
    values: int  # the most values a statement binds


def _flat_statements(rows: list[_Row], width: int, per_statement: int) -> _Statements:
    return [
        (len(chunk), tuple([v for row in chunk for v in row]))
        for chunk in _statement_chunks(rows, per_statement)
    ]


@cache
def _library_max_variables() -> int:
    """The limit on bound values per statement of the SQLite library the sqlite3 module uses
    (a connection may set a lower one: the plan is checked against it before it is used)."""
    conn = sqlite3.connect(":memory:")
    try:
        getlimit = getattr(conn, "getlimit", None)
        if getlimit is None:
            return _SQLITE_DEFAULT_MAX_VARIABLES
        return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    finally:
        conn.close()


# At most this many values in the one INSERT of a batch's papers (5,000 papers: 90,000).
_DIRECT_VALUES = 100_000


def _plan(papers: list[Paper], built: list[_Prepared]) -> _Plan:
    width = len(_PLAN_STAGE_COLUMNS)
    values = len(built) * width + 2  # and ?1, ?2: the id before the first, the batch's time
    direct: tuple[int, tuple[Any, ...]] | None = None
    stage: _Statements = []
    if values <= min(_DIRECT_VALUES, _library_max_variables()):
        flat: list[Any] = []
        for i, b in enumerate(built):
            flat.append(i)
            flat.extend(b.row)
        direct = (len(built), tuple(flat))
    else:
        values = _VALUES_PER_INSERT
        rows = [(i, *b.row) for i, b in enumerate(built)]
        stage = _flat_statements(rows, width, _VALUES_PER_INSERT // width)
    children: tuple[list[_Row], ...] = ([], [], [], [])
    for i, b in enumerate(built):
        for rows_of_table, new in zip(children, b.children, strict=True):
            if new:
                rows_of_table.extend([(i, *r) for r in new])
    return _Plan(
        papers,
        direct,
        stage,
        tuple(
            _flat_statements(rows, len(columns), _VALUES_PER_INSERT // len(columns))
            for rows, (_, columns) in zip(children, _CHILD_TABLES, strict=True)
        ),
        max(values, _VALUES_PER_INSERT + 1),
    )


def _statement_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in chunks of ``size``, the rest in power-of-two chunks (1,234: 1,024, 128, ...).

    Statements of a few sizes only: the driver caches each prepared statement by its text, and
    a multi-row INSERT of every remainder size would fill that cache with large statements.
    """
    start, total = 0, len(items)
    while total - start >= size:
        yield items[start : start + size]
        start += size
    while start < total:
        step = 1 << ((total - start).bit_length() - 1)
        yield items[start : start + step]
        start += step


# The write path's queries, built once: values go in as expanding parameters. (A statement
# built per call with col.in_(values) keeps the values in a reference cycle until the garbage
# collector runs, which an import holds off.)
_OWNER_QUERIES = {
    (column, derived_only): select(papers_t.c.key, papers_t.c[column])
    .where(papers_t.c[column].in_(bindparam("values", expanding=True)))
    .where(papers_t.c.key.like("t:%") if derived_only else true())
    for column in ("doi", "title_key")
    for derived_only in (False, True)
}
_PAPERS_BY_KEY = select(papers_t).where(papers_t.c.key.in_(bindparam("keys", expanding=True)))
_CHILD_QUERIES = tuple(
    select(table)
    .where(table.c.paper_id.in_(bindparam("ids", expanding=True)))
    .order_by(table.c.paper_id, table.c[order])
    for table, order in (
        (authors_t, "position"),
        (categories_t, "position"),
        (versions_t, "version"),
        (sources_t, "position"),
    )
)


# The write path's IN queries as SQL for SQLite's driver (``?`` marks appended by _select_in):
# Core's expanding parameters cost more than the queries themselves on a 5,000-paper batch.
_OWNER_SQL = {
    column: f'SELECT papers."key", papers.{column} FROM papers WHERE papers.{column} IN '
    for column in ("doi", "title_key")
}
_DERIVED_ONLY_SQL = ' AND papers."key" LIKE ?'
_STORED_KEYS_SQL = 'SELECT papers."key" FROM papers WHERE papers."key" IN '


def _select_in(
    conn: Connection, head: str, values: Sequence[Any], tail: str = "", *more: Any
) -> Any:
    """The rows of ``head (?, ?, ...) tail``, one mark per value (then ``more``), through the
    driver."""
    marks = ", ".join("?" * len(values))
    return conn.exec_driver_sql(f"{head}({marks}){tail}", (*values, *more))


def _plan_fits(plan: _Plan, papers: list[Paper], conn: Connection) -> bool:
    """Whether ``plan`` inserts exactly ``papers`` (the same objects, in order) and its statements
    stay within the connection's limit on bound values."""
    return (
        len(plan.papers) == len(papers)
        and all(map(operator.is_, plan.papers, papers))
        and plan.values <= _max_variables(conn)
    )


def _in_chunk(conn: Connection) -> int:
    """Values per IN list on the write path: 500, and on SQLite up to a whole batch when its limit
    on bound values allows (fewer statements, each one a hand-over of the GIL and back)."""
    if conn.dialect.name == "sqlite":
        return max(1, min(_WRITE_IN_CHUNK, _max_variables(conn) // 2))
    return _IN_CHUNK


def _max_variables(conn: Connection) -> int:
    """SQLite's limit on bound values per statement."""
    driver = conn.connection.driver_connection
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11+; 32,766 by default since 3.32
    if getlimit is None:
        return _SQLITE_DEFAULT_MAX_VARIABLES
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


class _Rows:
    """Bound row tuples written through the driver: what goes is Core's per-row parameter handling.

    On SQLite the rows go in multi-row INSERTs, on PostgreSQL through COPY. Rows arrive bound
    (see :class:`_Binders`).
    """

    def __init__(self, dialect: Dialect, table: str, columns: tuple[str, ...]) -> None:
        quote = dialect.identifier_preparer.quote
        self.sqlite = dialect.name == "sqlite"
        names = f"{quote(table)} ({', '.join(quote(c) for c in columns)})"
        self.head = f"INSERT INTO {names} VALUES "
        self.copy = f"COPY {names} FROM STDIN"
        self.width = len(columns)
        self.one = "(" + ", ".join("?" * self.width) + ")"
        # A row whose first value is added to ?1 (a position in the batch, made an id).
        self.relative_one = "(?1 + " + ", ".join("?" * self.width) + ")"
        self._sql: dict[tuple[bool, int], str] = {}

    def sql(self, rows: int, *, relative: bool = False) -> str:
        """A multi-row INSERT of ``rows`` rows (SQLite), made once per size."""
        found = self._sql.get((relative, rows))
        if found is None:
            one = self.relative_one if relative else self.one
            found = self._sql[relative, rows] = self.head + ", ".join([one] * rows)
        return found

    def insert(self, conn: Connection, rows: list[_Row]) -> None:
        if not rows:
            return
        if not self.sqlite:
            driver: Any = conn.connection.driver_connection  # psycopg, in this transaction
            cursor = driver.cursor()
            with cursor, cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        per_statement = max(1, min(_VALUES_PER_INSERT, _max_variables(conn)) // self.width)
        for chunk in _statement_chunks(rows, per_statement):
            conn.exec_driver_sql(self.sql(len(chunk)), tuple([v for row in chunk for v in row]))


# FTS5 settings while a bulk load writes (SQLite), and the defaults they go back to. hashsize:
# pending index data FTS5 keeps in memory before writing a segment (default 1 MiB, a sixth of a
# 5,000-paper batch), so a batch becomes one segment instead of six; automerge: segments of a
# level merged at once (default 4), so each entry is rewritten by fewer merges. Either only
# changes how the index is laid out in its segments, never what it holds or answers; together
# they take about a quarter off the cost of indexing a paper. Going back to automerge 4 lets
# later writes merge what the load left, as FTS5 does after any write.
_BULK_FTS = {"hashsize": 16 * 1024 * 1024, "automerge": 16}
_DEFAULT_FTS = {"hashsize": 1024 * 1024, "automerge": 4}
_FTS_TABLE = "papers_fts"


def _set_fts(conn: Connection, settings: dict[str, int]) -> None:
    with conn.begin():
        SqlCatalog._begin_write(conn)
        for name, value in settings.items():
            conn.exec_driver_sql(
                f"INSERT INTO {_FTS_TABLE}({_FTS_TABLE}, rank) VALUES (?, ?)", (name, value)
            )


@contextmanager
def _bulk_fts_settings(conn: Connection) -> Iterator[None]:
    """:data:`_BULK_FTS` while a bulk load writes on ``conn`` (SQLite), then the settings before
    it (FTS5's defaults when none were set, or when an interrupted load left its own)."""
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        yield
        return
    with conn.begin():
        found = conn.exec_driver_sql(f"SELECT k, v FROM {_FTS_TABLE}_config").all()
    current = {str(k): v for k, v in found}
    before = {
        name: int(current[name])
        if isinstance(current.get(name), int) and current[name] != _BULK_FTS[name]
        else default
        for name, default in _DEFAULT_FTS.items()
    }
    _set_fts(conn, _BULK_FTS)
    with _afterwards(
        lambda: _set_fts(conn, before), "could not restore the full-text index settings %s", before
    ):
        yield


@contextmanager
def _afterwards(undo: Callable[[], None], failure: str, *args: Any) -> Iterator[None]:
    """Runs ``undo`` after the body, however the body ends. If ``undo`` fails, that is logged
    (``failure`` % ``args``) and not raised: the body's own error, if any, is the one to see."""
    try:
        yield
    finally:
        try:
            undo()
        except Exception:
            log.warning(failure, *args, exc_info=True)


# A temporary table (this connection's only, in a temporary file: _temp_on_disk) that a bulk
# load's new papers pass through on SQLite, so each batch reaches papers, and its full-text
# trigger, in one statement. Columns without a type keep the values as bound until they land in
# papers.
_STAGE = "paperbot_bulk_papers"


@contextmanager
def _staging_table(conn: Connection) -> Iterator[bool]:
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        yield False
        return
    driver: Any = conn.connection.driver_connection
    columns = ", ".join(("id", *_PAPER_COLUMNS, "added_at"))
    driver.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ({columns})")
    try:
        yield True
    finally:
        driver.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")


# Secondary indexes that a bulk load into an empty or small catalog drops, and creates again at
# its end (SQLite): one sort per index instead of a random insert per row, which touched pages
# all over each index in every batch and made each commit rewrite them into the WAL (the cost
# that grew with the catalog). None of them is read by the load itself: the alias lookups use
# the key, DOI and title_key indexes, which stay, as do the unique constraints. The statements
# are the migrations' own (tests/storage check them against a freshly migrated database); an
# index whose definition in the database differs is left alone. If a load is killed before its
# end, the catalog stays consistent and searchable, only slower, until the next bulk load or
# ``paperbot db upgrade`` creates what is missing (:func:`restore_indexes`).
DEFERRABLE_INDEXES = {
    "ix_papers_published": "CREATE INDEX ix_papers_published ON papers (published)",
    "ix_papers_added_at": "CREATE INDEX ix_papers_added_at ON papers (added_at)",
    "ix_papers_primary_category": (
        "CREATE INDEX ix_papers_primary_category ON papers (primary_category)"
    ),
    "ix_papers_day": (
        "CREATE INDEX ix_papers_day ON papers (coalesce(published, updated, added_at), id)"
    ),
    "ix_papers_arxiv_id": "CREATE INDEX ix_papers_arxiv_id ON papers (arxiv_id)",
    "ix_paper_authors_surname": (
        "CREATE INDEX ix_paper_authors_surname ON paper_authors (surname_folded)"
    ),
    "ix_paper_authors_surname_name": (
        "CREATE INDEX ix_paper_authors_surname_name "
        "ON paper_authors (surname_folded, name_folded, paper_id)"
    ),
    "ix_paper_categories_category": (
        "CREATE INDEX ix_paper_categories_category ON paper_categories (category, paper_id)"
    ),
    "ix_paper_categories_archive": (
        "CREATE INDEX ix_paper_categories_archive ON paper_categories (archive, paper_id)"
    ),
}
_INDEX_BUILD_CACHE = -16384  # KiB
# Deferring pays once the load brings at least this many papers and as many as the catalog holds.
_DEFER_INDEXES_FROM = 20_000


def _sqlite_driver(conn: Connection) -> Any:
    """The sqlite3 connection under ``conn``, or None on another database or driver."""
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        return None
    return conn.connection.driver_connection


@contextmanager
def _temp_on_disk(driver: Any) -> Iterator[None]:
    """Temporary tables and sorts in a temporary file (the OS's page cache), not in the process's
    memory (``temp_store=MEMORY``, the catalog's setting), so their size never shows in ours.
    Changing temp_store drops the connection's temporary tables."""
    if driver is None:
        yield
        return
    before = int(driver.execute("PRAGMA temp_store").fetchone()[0])
    if before != 1:
        driver.execute("PRAGMA temp_store=FILE")
    try:
        yield
    finally:
        if before != 1:
            driver.execute(f"PRAGMA temp_store={before}")


def _create_indexes(driver: Any, names: Iterable[str]) -> None:
    """Create the named :data:`DEFERRABLE_INDEXES` in one transaction, sorting in a temporary
    file: memory stays bounded however large the tables."""
    names = list(names)
    if not names:
        return
    # SQLite sorts in memory up to the page cache's size before it spills; a smaller cache for
    # the while keeps the sort from adding its own 64 MB on top of a full cache.
    cache_size = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size={_INDEX_BUILD_CACHE}")
    try:
        with _temp_on_disk(driver):
            driver.execute("BEGIN IMMEDIATE")
            try:
                for name in names:
                    sql = DEFERRABLE_INDEXES[name]
                    driver.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
                driver.execute("COMMIT")
            except BaseException:
                driver.execute("ROLLBACK")
                raise
    finally:
        driver.execute(f"PRAGMA cache_size={cache_size}")


@cache
def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from storage.migrate import MIGRATIONS

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _missing_indexes(driver: Any) -> list[str]:
    """:data:`DEFERRABLE_INDEXES` not in the database, when its schema is at the newest revision
    (an older schema may lack them by design: its migrations create them)."""
    found = dict(
        driver.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'index')"
        ).fetchall()
    )
    if found.get("alembic_version") != "table":
        return []
    revision = driver.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision is None or revision[0] != _head_revision():
        return []
    return [name for name in DEFERRABLE_INDEXES if name not in found]


def restore_indexes(engine: Engine) -> list[str]:
    """Create the :data:`DEFERRABLE_INDEXES` a bulk load dropped and could not build again (the
    process was killed); returns their names. A schema at an older revision is left alone."""
    with engine.connect() as conn:
        driver = _sqlite_driver(conn)
        if driver is None:
            return []
        missing = _missing_indexes(driver)
        if missing:
            log.info("creating indexes an interrupted import left out: %s", ", ".join(missing))
            _create_indexes(driver, missing)
        return missing


@contextmanager
def _deferred_indexes(
    conn: Connection, expected: int | None, checkpointer: WalCheckpointer | None
) -> Iterator[None]:
    driver = _sqlite_driver(conn)
    if driver is None:
        yield
        return
    _create_indexes(driver, _missing_indexes(driver))  # an earlier load's, if it was killed
    top = driver.execute("SELECT max(id) FROM papers").fetchone()[0] or 0
    if expected is None or expected < max(_DEFER_INDEXES_FROM, top):
        yield
        return
    marks = ", ".join("?" * len(DEFERRABLE_INDEXES))
    live = dict(
        driver.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",
            tuple(DEFERRABLE_INDEXES),
        ).fetchall()
    )
    dropped = [name for name, sql in DEFERRABLE_INDEXES.items() if live.get(name) == sql]
    driver.execute("BEGIN IMMEDIATE")
    try:
        for name in dropped:
            driver.execute(f"DROP INDEX {name}")
        driver.execute("COMMIT")
    except BaseException:
        driver.execute("ROLLBACK")
        raise

    def create_again() -> None:
        try:
            _create_indexes(driver, dropped)
        finally:
            if checkpointer is not None:
                checkpointer.committed()

    with _afterwards(create_again, "could not create the indexes %s again", dropped):
        yield


@dataclass(frozen=True, slots=True)
class _Bulk:
    """The connection of a bulk load (:meth:`SqlCatalog.bulk_load`) and the thread it is for."""

    conn: Connection
    thread: int
    checkpointer: WalCheckpointer | None
    staged: bool  # new papers go through the temporary table _STAGE (SQLite)


class SqlCatalog:
    """:class:`bot.domain.catalog.Catalog` on a SQLAlchemy engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = _utcnow,
        # Papers per transaction; the importer hands over 5,000 at a time, one transaction each.
        batch_size: int = 5000,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._batch_size = batch_size
        self._binders = _Binders(engine.dialect)
        self._writers: dict[tuple[str, tuple[str, ...]], _Rows] = {}
        self._bulk: _Bulk | None = None
        self._prepare_folds = _Folds(_PREPARE_FOLDS)
        self._direct_sql: dict[int, str] = {}

    # -- writing ---------------------------------------------------------------------------------

    def prepare(self, papers: Iterable[Paper]) -> PreparedPapers:
        """``papers`` with the rows each would be inserted as, built ahead of :meth:`upsert`.

        Pure work, no database: the importer calls it on its parsing thread, so the thread that
        writes spends its time in the database. Passing the result to :meth:`upsert` stores
        exactly what passing the papers would.
        """
        out = PreparedPapers()
        binders, folds = self._binders, self._prepare_folds
        memo: dict[Any, Any] = {}
        prepared = out.prepared
        built: list[_Prepared] = []
        for paper in papers:
            paper = self._with_normalised_doi(paper)
            tkey = title_key(paper)
            row, children = _build(paper, tkey, binders, memo, folds)
            out.append(paper)
            one = prepared[id(paper)] = _Prepared(paper, tkey, row, children)
            built.append(one)
        dialect = self.engine.dialect
        if dialect.name == "sqlite" and dialect.driver == "pysqlite" and out:
            out.plan = _plan(list(out), built)
        return out

    @contextmanager
    def bulk_load(self, expected: int | None = None) -> Iterator[None]:
        """Many upserts to come from this thread (an import of about ``expected`` papers).

        They share one connection. On SQLite its WAL is checkpointed on a thread of its own
        (:func:`storage.db.bulk_checkpoints`), the full-text index is written in larger pieces
        (:func:`_bulk_fts_settings`, :data:`_STAGE`), and a load that will at least double a
        catalog drops the secondary indexes nothing in the load reads and builds them again at
        its end (:func:`_deferred_indexes`). What is stored, and when it commits, is as without
        it: one transaction per batch, every paper in the full-text index as it commits.
        """
        if self._bulk is not None:
            yield
            return
        with (
            self.engine.connect() as conn,
            _temp_on_disk(_sqlite_driver(conn)),
            bulk_checkpoints(conn) as checkpointer,
            _bulk_fts_settings(conn),
            _deferred_indexes(conn, expected, checkpointer),
            _staging_table(conn) as staged,
        ):
            self._bulk = _Bulk(conn, threading.get_ident(), checkpointer, staged)
            try:
                yield
            finally:
                self._bulk = None

    def upsert(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Store papers in batches, one transaction each; a paper already stored is merged."""
        prepared = papers.prepared if isinstance(papers, PreparedPapers) else {}
        plan = papers.plan if isinstance(papers, PreparedPapers) else None
        counts = UpsertCounts()
        bulk = self._bulk
        if bulk is not None and bulk.thread == threading.get_ident():
            checkpointer = bulk.checkpointer
            for batch in _batches(papers, self._batch_size):
                if checkpointer is not None:
                    checkpointer.throttle()
                with bulk.conn.begin():
                    counts += self._upsert_batch(bulk.conn, batch, prepared, plan)
                if checkpointer is not None:
                    checkpointer.committed()
            return counts
        for batch in _batches(papers, self._batch_size):
            with self.engine.begin() as conn:
                counts += self._upsert_batch(conn, batch, prepared)
        return counts

    def _upsert_batch(
        self,
        conn: Connection,
        batch: list[Paper],
        prepared: dict[int, _Prepared],
        plan: _Plan | None = None,
    ) -> UpsertCounts:
        self._begin_write(conn)
        incoming: dict[str, Paper] = {}
        for paper in batch:
            paper = self._with_normalised_doi(paper)
            key = paper.key
            known = incoming.get(key)
            incoming[key] = merge(known, paper) if known else paper
        incoming = self._resolve_aliases(conn, incoming, prepared)
        stored = self._load(conn, list(incoming))
        now = self._clock()
        counts = UpsertCounts()
        new_papers: list[Paper] = []
        changed: list[tuple[int, Paper]] = []
        for key, paper in incoming.items():
            found = stored.get(key)
            if found is None:
                # added_at is stored from ``now`` by _insert; the Paper itself is not kept.
                new_papers.append(paper)
                continue
            row_id, old = found
            merged = merge(old, paper)
            if _comparable(merged) == _comparable(old):
                counts.unchanged += 1
            else:
                changed.append((row_id, merged))
        if new_papers:
            self._insert(conn, new_papers, now, prepared, plan)
            counts.new = len(new_papers)
        if changed:
            self._update(conn, changed, now)
            counts.updated = len(changed)
        return counts

    @staticmethod
    def _with_normalised_doi(paper: Paper) -> Paper:
        doi = normalise_doi(paper.doi)
        return paper if doi == paper.doi else replace(paper, doi=doi)

    @staticmethod
    def _prepared(paper: Paper, prepared: dict[int, _Prepared]) -> _Prepared | None:
        found = prepared.get(id(paper))
        return found if found is not None and found.paper is paper else None

    def _title_keys(
        self, incoming: dict[str, Paper], prepared: dict[int, _Prepared]
    ) -> dict[str, str]:
        keys: dict[str, str] = {}
        for key, paper in incoming.items():
            found = self._prepared(paper, prepared)
            keys[key] = found.title_key if found is not None else title_key(paper)
        return keys

    def _resolve_aliases(
        self, conn: Connection, incoming: dict[str, Paper], prepared: dict[int, _Prepared]
    ) -> dict[str, Paper]:
        """Join records of one work that arrive under different keys, through DOI or title.

        A journal feed's entry with a DOI the catalog knows, or a listing entry with the title and
        first author of a stored paper, joins that paper; an arXiv record whose DOI or title names
        a paper stored before its arXiv id was known takes that row over.
        """
        owners = self._owners(conn, "doi", {p.doi for p in incoming.values() if p.doi})
        # A record known by no id joins whatever holds its title; an arXiv record takes over only
        # a row known by no id, so two arXiv papers that share a title never merge.
        title_keys = self._title_keys(incoming, prepared)
        unkeyed = {t for k, t in title_keys.items() if _is_derived_key(k)}
        keyed = {t for k, t in title_keys.items() if not _is_derived_key(k)}
        by_title = self._owners(conn, "title_key", unkeyed)
        by_title_unkeyed = self._owners(conn, "title_key", keyed, derived_only=True)
        if not owners and not by_title and not by_title_unkeyed:
            return incoming
        result: dict[str, Paper] = {}
        for key, paper in incoming.items():
            titles = by_title if _is_derived_key(key) else by_title_unkeyed
            owner = (owners.get(paper.doi) if paper.doi else None) or titles.get(title_keys[key])
            if owner is None or owner == key:
                result[key] = paper
            elif _is_derived_key(key):
                joined = replace(paper, catalog_key=owner)
                result[owner] = merge(result[owner], joined) if owner in result else joined
            elif _is_derived_key(owner):
                conn.execute(
                    update(papers_t)
                    .where(papers_t.c.key == owner)
                    .values(key=paper.key, arxiv_id=paper.arxiv_id)
                )
                result[key] = merge(result[key], paper) if key in result else paper
            else:
                result[key] = paper
        return result

    @staticmethod
    def _owners(
        conn: Connection, column: str, values: set[str], *, derived_only: bool = False
    ) -> dict[str, str]:
        """Stored key per alias value; an arXiv-keyed row is the better owner when both exist.

        ``derived_only`` looks only at rows known by no arXiv id or DOI.
        """
        found: dict[str, str] = {}
        stmt = _OWNER_QUERIES[column, derived_only]
        raw = _sqlite_driver(conn) is not None
        tail: tuple[Any, ...] = (_DERIVED_ONLY_SQL, "t:%") if derived_only else ()
        for chunk in _chunks(sorted(values), _in_chunk(conn)):
            if raw:
                rows = _select_in(conn, _OWNER_SQL[column], chunk, *tail)
            else:
                rows = conn.execute(stmt, {"values": chunk})
            for key, value in rows:
                current = found.get(value)
                if current is None or (_is_derived_key(current) and not _is_derived_key(key)):
                    found[value] = key
        return found

    def _paper_values(self, paper: Paper, now: datetime) -> dict[str, Any]:
        return dict(zip(_PAPER_COLUMNS, _paper_row(paper, now), strict=True))

    @staticmethod
    def _fast(conn: Connection) -> bool:
        """Whether new rows go through :class:`_Rows`: psycopg 3 (COPY), the sqlite3 module."""
        if conn.dialect.name == "postgresql":
            return conn.dialect.driver == "psycopg"
        return conn.dialect.name == "sqlite" and conn.dialect.driver == "pysqlite"

    def _writer(self, dialect: Dialect, table: str, columns: tuple[str, ...]) -> _Rows:
        writer = self._writers.get((table, columns))
        if writer is None:
            writer = self._writers[(table, columns)] = _Rows(dialect, table, columns)
        return writer

    @staticmethod
    def _begin_write(conn: Connection) -> None:
        """On SQLite, take the write lock as the batch begins (BEGIN IMMEDIATE): what it reads
        (aliases, stored papers, the highest id) then stays true until it commits, and a writer
        elsewhere makes it wait (busy_timeout) rather than fail when it first writes."""
        if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
            return
        driver: Any = conn.connection.driver_connection
        if not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _insert(
        self,
        conn: Connection,
        papers: list[Paper],
        now: datetime,
        prepared: dict[int, _Prepared],
        plan: _Plan | None = None,
    ) -> None:
        bulk = self._bulk
        staged = bulk is not None and bulk.conn is conn and bulk.staged
        if staged and plan is not None and _plan_fits(plan, papers, conn):
            self._insert_planned(conn, plan, now)
            return
        if not self._fast(conn):
            dicts = [self._paper_values(p, now) | {"added_at": now} for p in papers]
            conn.execute(insert(papers_t), dicts)
            ids = self._ids_for(conn, [p.key for p in papers])
            self._insert_children(conn, [(ids[p.key], p) for p in papers])
            return
        dialect = conn.dialect
        binders, folds = self._binders, _Folds()
        memo: dict[Any, Any] = {}
        built: list[tuple[_Row, tuple[list[_Row], ...]]] = []
        for p in papers:
            found = self._prepared(p, prepared)
            if found is not None:
                built.append((found.row, found.children))
            else:
                built.append(_build(p, title_key(p), binders, memo, folds))
        stamp = binders.datetime(now, memo)  # changed_at and added_at, the same for every row
        quote = dialect.identifier_preparer.quote
        key, row_id = quote("key"), quote("id")
        if dialect.name == "sqlite":
            # The ids SQLite would give (one more than the highest, row after row), given here:
            # the batch holds the write lock since it began (_begin_write), so they stay free,
            # and no RETURNING rows come back one step (and one GIL hand-over) at a time.
            top = conn.exec_driver_sql(f"SELECT max({row_id}) FROM {quote(papers_t.name)}")
            first = int(top.scalar() or 0) + 1
            ids = {p.key: first + i for i, p in enumerate(papers)}
            rows = [(first + i, *row, stamp, stamp) for i, (row, _) in enumerate(built)]
            columns = ("id", *_PAPER_COLUMNS, "added_at")
            if staged:
                # The batch's papers reach the table in one statement: FTS5 writes the index
                # data of a statement as a segment of its own, one per batch instead of ten.
                self._writer(dialect, _STAGE, columns).insert(conn, rows)
                names = ", ".join(quote(c) for c in columns)
                conn.exec_driver_sql(
                    f"INSERT INTO {quote(papers_t.name)} ({names}) SELECT {names} FROM {_STAGE}"
                )
                conn.exec_driver_sql(f"DELETE FROM {_STAGE}")
            else:
                self._writer(dialect, papers_t.name, columns).insert(conn, rows)
        else:
            rows = [(*row, stamp, stamp) for row, _ in built]
            self._writer(dialect, papers_t.name, (*_PAPER_COLUMNS, "added_at")).insert(conn, rows)
            ids = dict(
                conn.exec_driver_sql(  # type: ignore[arg-type]
                    f"SELECT {key}, {row_id} FROM {quote(papers_t.name)} WHERE {key} = ANY(%s)",
                    ([p.key for p in papers],),
                ).all()
            )
        children: tuple[list[_Row], ...] = ([], [], [], [])
        for p, (_, own) in zip(papers, built, strict=True):
            pid = ids[p.key]
            for rows_of_table, new in zip(children, own, strict=True):
                if new:
                    rows_of_table.extend([(pid, *r) for r in new])
        self._write_children(conn, children)

    def _insert_planned(self, conn: Connection, plan: _Plan, now: datetime) -> None:
        """The batch's new papers, all of them as prepared, through the statements of ``plan``
        (a bulk load into SQLite): the rows stored are those :meth:`_insert` stores."""
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        papers = quote(papers_t.name)
        # The ids SQLite would give, as in _insert: ``base`` + the position in the batch.
        top = conn.exec_driver_sql(f"SELECT max({quote('id')}) FROM {papers}")
        base = int(top.scalar() or 0) + 1
        stamp = self._binders.datetime(now, {})  # changed_at and added_at, as in _insert
        names = [quote(c) for c in _PLAN_STAGE_COLUMNS[1:]]
        head = f"INSERT INTO {papers} ({quote('id')}, {', '.join(names)}, changed_at, added_at)"
        if plan.direct is not None:
            rows, values = plan.direct
            width = len(_PLAN_STAGE_COLUMNS)
            rest = ", ".join(f"column{k}" for k in range(2, width + 1))
            marks = "(" + ", ".join("?" * width) + ")"
            sql = self._direct_sql.get(rows)
            if sql is None:
                # ?1 and ?2 are named first, so the plain marks of the rows count from 3.
                sql = self._direct_sql[rows] = (
                    f"{head} SELECT ?1 + column1, {rest}, ?2, ?2 "
                    f"FROM (VALUES {', '.join([marks] * rows)})"
                )
            conn.exec_driver_sql(sql, (base, stamp, *values))
        else:
            stage = self._writer(dialect, _STAGE, _PLAN_STAGE_COLUMNS)
            for rows, values in plan.stage:
                conn.exec_driver_sql(stage.sql(rows), values)
            conn.exec_driver_sql(
                f"{head} SELECT ? + id, {', '.join(names)}, ?, ? FROM {_STAGE}",
                (base, stamp, stamp),
            )
            conn.exec_driver_sql(f"DELETE FROM {_STAGE}")
        for (table, columns), statements in zip(_CHILD_TABLES, plan.children, strict=True):
            writer = self._writer(dialect, table.name, columns)
            for rows, values in statements:
                conn.exec_driver_sql(writer.sql(rows, relative=True), (base, *values))

    def _update(self, conn: Connection, changed: list[tuple[int, Paper]], now: datetime) -> None:
        rows = [{"_id": row_id, **self._paper_values(p, now)} for row_id, p in changed]
        stmt = (
            update(papers_t)
            .where(papers_t.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in rows[0] if c not in ("_id", "key")})
        )
        conn.execute(stmt, rows)
        ids = [row_id for row_id, _ in changed]
        for chunk in _chunks(ids, _IN_CHUNK):
            for table in (authors_t, categories_t, versions_t, sources_t):
                conn.execute(delete(table).where(table.c.paper_id.in_(chunk)))
        self._insert_children(conn, changed)

    def _insert_children(self, conn: Connection, items: list[tuple[int, Paper]]) -> None:
        if not self._fast(conn):
            for (table, columns), rows in zip(_CHILD_TABLES, _child_rows(items), strict=True):
                if rows:
                    conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        binders, folds = self._binders, _Folds()
        memo: dict[Any, Any] = {}
        children: tuple[list[_Row], ...] = ([], [], [], [])
        for pid, p in items:
            _, own = _build(p, "", binders, memo, folds)
            for rows_of_table, new in zip(children, own, strict=True):
                rows_of_table.extend([(pid, *r) for r in new])
        self._write_children(conn, children)

    def _write_children(self, conn: Connection, children: tuple[list[_Row], ...]) -> None:
        """Bound child rows through the driver (the fast path)."""
        for (table, columns), rows in zip(_CHILD_TABLES, children, strict=True):
            if rows:
                self._writer(conn.dialect, table.name, columns).insert(conn, rows)

    @staticmethod
    def _ids_for(conn: Connection, keys: list[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in _chunks(keys, _IN_CHUNK):
            for key, row_id in conn.execute(
                select(papers_t.c.key, papers_t.c.id).where(papers_t.c.key.in_(chunk))
            ):
                ids[key] = row_id
        return ids

    # -- reading ---------------------------------------------------------------------------------

    def _load(self, conn: Connection, keys: list[str]) -> dict[str, tuple[int, Paper]]:
        if _sqlite_driver(conn) is not None and len(keys) > 1:
            # Which keys are stored first, through the driver (a bulk load's batch is mostly
            # new papers): the papers are then read for those alone.
            chunks = _chunks(keys, _in_chunk(conn))
            keys = [k for chunk in chunks for (k,) in _select_in(conn, _STORED_KEYS_SQL, chunk)]
            if not keys:
                return {}
        rows: list[Any] = []
        for chunk in _chunks(keys, _in_chunk(conn)):
            rows.extend(conn.execute(_PAPERS_BY_KEY, {"keys": chunk}))
        return {row.key: (row.id, paper) for row, paper in self._assemble(conn, rows)}

    def _assemble(self, conn: Connection, rows: list[Any]) -> list[tuple[Any, Paper]]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        authors: dict[int, list[Author]] = {}
        categories: dict[int, list[str]] = {}
        versions: dict[int, list[PaperVersion]] = {}
        sources: dict[int, list[str]] = {}
        authors_q, categories_q, versions_q, sources_q = _CHILD_QUERIES
        for chunk in _chunks(ids, _in_chunk(conn)):
            for a in conn.execute(authors_q, {"ids": chunk}):
                affs = tuple(x for x in a.affiliations.split("\n") if x)
                authors.setdefault(a.paper_id, []).append(Author(a.name, affs))
            for c in conn.execute(categories_q, {"ids": chunk}):
                categories.setdefault(c.paper_id, []).append(c.category)
            for v in conn.execute(versions_q, {"ids": chunk}):
                versions.setdefault(v.paper_id, []).append(PaperVersion(v.version, v.submitted))
            for s in conn.execute(sources_q, {"ids": chunk}):
                sources.setdefault(s.paper_id, []).append(s.source)
        return [
            (
                r,
                Paper(
                    catalog_key=r.key,
                    title=r.title,
                    abstract=r.abstract,
                    arxiv_id=r.arxiv_id,
                    version=r.version,
                    authors=tuple(authors.get(r.id, ())),
                    categories=tuple(categories.get(r.id, ())),
                    published=r.published,
                    updated=r.updated,
                    doi=r.doi,
                    journal_ref=r.journal_ref,
                    comment=r.comment,
                    url=r.url,
                    pdf_url=r.pdf_url,
                    sources=tuple(sources.get(r.id, ())),
                    versions=tuple(versions.get(r.id, ())),
                    added_at=r.added_at,
                ),
            )
            for r in rows
        ]

    def get(self, key: str) -> Paper | None:
        with self.engine.connect() as conn:
            found = self._load(conn, [key]).get(key)
        return found[1] if found else None

    def get_many(self, keys: Iterable[str]) -> list[Paper]:
        """Papers for ``keys``, in the order asked, leaving out keys not in the catalog."""
        wanted = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            found = self._load(conn, wanted)
        return [found[k][1] for k in wanted if k in found]

    def get_by_ids(self, ids: Sequence[int]) -> list[Paper]:
        """Papers by row id, in the order asked (search results come back as row ids)."""
        with self.engine.connect() as conn:
            rows: list[Any] = []
            for chunk in _chunks(list(ids), _IN_CHUNK):
                rows.extend(conn.execute(select(papers_t).where(papers_t.c.id.in_(chunk))))
            by_id = {r.id: p for r, p in self._assemble(conn, rows)}
        return [by_id[i] for i in ids if i in by_id]

    def find_by_doi(self, doi: str) -> Paper | None:
        wanted = normalise_doi(doi)
        if not wanted:
            return None
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(papers_t).where(papers_t.c.doi == wanted).limit(1)))
            assembled = self._assemble(conn, rows)
        return assembled[0][1] if assembled else None

    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        """Every paper in catalog order, read in batches so memory stays flat."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = list(
                    conn.execute(
                        select(papers_t)
                        .where(papers_t.c.id > last)
                        .order_by(papers_t.c.id)
                        .limit(batch_size)
                    )
                )
                assembled = self._assemble(conn, rows)
            if not assembled:
                return
            for _, paper in assembled:
                yield paper
            last = rows[-1].id

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(papers_t)).scalar_one())

    def stats(self) -> CatalogStats:
        with self.engine.connect() as conn:
            one = conn.execute(
                select(
                    func.count(),
                    func.max(papers_t.c.added_at),
                    func.max(papers_t.c.published),
                ).select_from(papers_t)
            ).one()
            n_authors = conn.execute(
                select(func.count(func.distinct(authors_t.c.name_folded)))
            ).scalar_one()
            n_categories = conn.execute(
                select(func.count(func.distinct(categories_t.c.category)))
            ).scalar_one()
            n_versions = conn.execute(select(func.count()).select_from(versions_t)).scalar_one()
            # iter(): a Result has keys(), so dict() would take it for a mapping.
            per_source = dict(
                iter(
                    conn.execute(
                        select(sources_t.c.source, func.count())
                        .group_by(sources_t.c.source)
                        .order_by(func.count().desc(), sources_t.c.source)
                    ).tuples()
                )
            )
            top = [
                (category, n)
                for category, n in conn.execute(
                    select(categories_t.c.category, func.count())
                    .group_by(categories_t.c.category)
                    .order_by(func.count().desc(), categories_t.c.category)
                    .limit(10)
                )
            ]
        newest_added = one[1]
        newest_published = one[2]
        # Aggregates bypass the column type on SQLite; bring them back to aware UTC.
        return CatalogStats(
            papers=int(one[0]),
            authors=int(n_authors),
            sources=len(per_source),
            categories=int(n_categories),
            versions=int(n_versions),
            newest_added=_as_utc(newest_added),
            newest_published=_as_utc(newest_published),
            per_source={k: int(v) for k, v in per_source.items()},
            top_categories=[(k, int(v)) for k, v in top],
        )

    # -- sources and ingest runs -----------------------------------------------------------------

    def source_state(self, name: str) -> ConditionalState:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(SourceRow.etag, SourceRow.last_modified).where(SourceRow.name == name)
            ).first()
        return ConditionalState(row[0], row[1]) if row else ConditionalState()

    def save_source_state(
        self, name: str, url: str, fmt: str, state: ConditionalState, status: str
    ) -> None:
        values = {
            "url": url,
            "format": fmt,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "last_fetched_at": self._clock(),
            "last_status": status,
        }
        with self.engine.begin() as conn:
            done = conn.execute(update(source_state_t).where(SourceRow.name == name).values(values))
            if done.rowcount == 0:
                conn.execute(insert(source_state_t).values(name=name, **values))

    def record_run(self, run: IngestRun) -> int:
        details = [
            {"position": s.position, "reason": s.reason, "ref": s.ref}
            for s in run.skipped_entries[:_MAX_RUN_DETAILS]
        ]
        values = {
            "source": run.source,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "fetched": run.fetched,
            "new": run.new,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "skipped": run.skipped,
            "failed": run.failed,
            "reason": run.reason,
            "details": json.dumps(details) if details else None,
        }
        with self.engine.begin() as conn:
            result = conn.execute(insert(ingest_runs_t).values(values))
            run_id = int(result.inserted_primary_key[0])
        run.id = run_id
        return run_id

    def recent_runs(self, limit: int = 20, source: str | None = None) -> list[IngestRun]:
        stmt = select(IngestRunRow).order_by(IngestRunRow.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(IngestRunRow.source == source)
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        return [
            IngestRun(
                id=r.id,
                source=r.source,
                started_at=r.started_at,
                finished_at=r.finished_at,
                status=r.status,
                fetched=r.fetched,
                new=r.new,
                updated=r.updated,
                unchanged=r.unchanged,
                skipped=r.skipped,
                failed=r.failed,
                reason=r.reason,
                skipped_entries=[
                    SkippedEntry(d["position"], d["reason"], d.get("ref"))
                    for d in json.loads(r.details or "[]")
                ],
            )
            for r in rows
        ]


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
