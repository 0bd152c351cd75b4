"""The catalog on SQLite or PostgreSQL: papers with authors, categories, versions and sources."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, update

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

papers_t: Table = Base.metadata.tables[PaperRow.__tablename__]
authors_t: Table = Base.metadata.tables[PaperAuthorRow.__tablename__]
categories_t: Table = Base.metadata.tables[PaperCategoryRow.__tablename__]
versions_t: Table = Base.metadata.tables[PaperVersionRow.__tablename__]
sources_t: Table = Base.metadata.tables[PaperSourceRow.__tablename__]
source_state_t: Table = Base.metadata.tables[SourceRow.__tablename__]
ingest_runs_t: Table = Base.metadata.tables[IngestRunRow.__tablename__]

# Bound parameters per statement stay well under SQLite's limit (32,766) and PostgreSQL's (65,535).
_IN_CHUNK = 500
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


def _fold(text: str) -> str:
    """:func:`fold`, answered without Unicode decomposition for ASCII text (most names).

    For ASCII, NFKD changes nothing, there are no combining marks and casefold() is lower(), so
    the result is the same.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    return fold(text)


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


def _paper_row(paper: Paper, changed_at: Any) -> tuple[Any, ...]:
    """A papers row in :data:`_PAPER_COLUMNS` order."""
    names = paper.author_names
    return (
        paper.key,
        paper.arxiv_id,
        paper.version,
        paper.title,
        paper.abstract,
        ", ".join(names),
        " ".join([_fold(n) for n in names]),
        "; ".join(paper.affiliations),
        paper.primary_category,
        paper.published,
        paper.updated,
        paper.doi,
        title_key(paper),
        paper.journal_ref,
        paper.comment,
        paper.url,
        paper.pdf_url,
        changed_at,
    )


def _child_rows(items: list[tuple[int, Paper]]) -> tuple[list[tuple[Any, ...]], ...]:
    """Rows of paper_authors, paper_categories, paper_versions and paper_sources."""
    authors: list[tuple[Any, ...]] = []
    categories: list[tuple[Any, ...]] = []
    versions: list[tuple[Any, ...]] = []
    sources: list[tuple[Any, ...]] = []
    for pid, p in items:
        for pos, a in enumerate(p.authors):
            name = a.name
            authors.append(
                (
                    pid,
                    pos,
                    name,
                    _fold(name),
                    _fold(surname(name))[:200],
                    "\n".join(a.affiliations),
                )
            )
        for pos, cat in enumerate(dict.fromkeys(p.categories)):
            categories.append((pid, cat, _archive(cat), pos, pos == 0))
        if len(p.versions) == 1:
            v = p.versions[0]
            versions.append((pid, v.version, v.submitted))
        else:
            for v in {v.version: v for v in p.versions}.values():
                versions.append((pid, v.version, v.submitted))
        for pos, src in enumerate(dict.fromkeys(p.sources)):
            sources.append((pid, src, pos))
    return authors, categories, versions, sources


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


def _max_variables(conn: Connection) -> int:
    """SQLite's limit on bound values per statement."""
    driver = conn.connection.driver_connection
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11+; 32,766 by default since 3.32
    if getlimit is None:
        return _SQLITE_DEFAULT_MAX_VARIABLES
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


class _Rows:
    """Row tuples written through the driver, values bound the way Core binds them.

    Each column's own bind processor (``UTCDateTime`` to naive UTC, booleans to 0/1 on SQLite)
    runs on the values, so the stored rows are what ``conn.execute(insert(table), dicts)`` stores;
    what goes is Core's per-row parameter handling. On SQLite the rows go in multi-row INSERTs, on
    PostgreSQL through COPY. ``prebound`` columns arrive bound. ``memo`` is shared by the writers
    of one batch: a paper's dates are its versions' dates, and each distinct value is bound once.
    """

    def __init__(
        self,
        conn: Connection,
        table: Table,
        columns: tuple[str, ...],
        memo: dict[Any, Any],
        prebound: tuple[str, ...] = (),
    ) -> None:
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        self.sqlite = dialect.name == "sqlite"
        names = f"{quote(table.name)} ({', '.join(quote(c) for c in columns)})"
        self.head = f"INSERT INTO {names} VALUES "
        self.copy = f"COPY {names} FROM STDIN"
        self.width = len(columns)
        self.one = "(" + ", ".join("?" * self.width) + ")"
        self.memo = memo
        self.processors = []
        for i, name in enumerate(columns):
            column_type = table.c[name].type
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None and name not in prebound:
                self.processors.append((i, repr(column_type), processor))

    def bind(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not self.processors:
            return rows
        memo = self.memo
        bound = []
        for row in rows:
            values = list(row)
            for i, type_key, processor in self.processors:
                value = values[i]
                if value is not None:
                    key = (type_key, value)
                    done = memo.get(key)
                    if done is None:
                        done = memo[key] = processor(value)
                    values[i] = done
            bound.append(tuple(values))
        return bound

    def insert(
        self, conn: Connection, rows: list[tuple[Any, ...]], returning: str | None = None
    ) -> list[Any]:
        """Write ``rows``; on SQLite, the RETURNING rows when ``returning`` names columns."""
        out: list[Any] = []
        if not rows:
            return out
        if not self.sqlite:
            if returning:
                raise ValueError("COPY returns no rows")
            driver: Any = conn.connection.driver_connection  # psycopg, in this transaction
            cursor = driver.cursor()
            with cursor, cursor.copy(self.copy) as copy:
                for row in self.bind(rows):
                    copy.write_row(row)
            return out
        per_statement = max(1, min(_VALUES_PER_INSERT, _max_variables(conn)) // self.width)
        tail = f" RETURNING {returning}" if returning else ""
        for chunk in _statement_chunks(self.bind(rows), per_statement):
            sql = self.head + ", ".join([self.one] * len(chunk)) + tail
            params = tuple([v for row in chunk for v in row])
            result = conn.exec_driver_sql(sql, params)
            if returning:
                out.extend(result.fetchall())
        return out


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

    # -- writing ---------------------------------------------------------------------------------

    def upsert(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Store papers in batches, one transaction each; a paper already stored is merged."""
        counts = UpsertCounts()
        for batch in _batches(papers, self._batch_size):
            with self.engine.begin() as conn:
                counts += self._upsert_batch(conn, batch)
        return counts

    def _upsert_batch(self, conn: Connection, batch: list[Paper]) -> UpsertCounts:
        incoming: dict[str, Paper] = {}
        for paper in batch:
            paper = self._with_normalised_doi(paper)
            known = incoming.get(paper.key)
            incoming[paper.key] = merge(known, paper) if known else paper
        incoming = self._resolve_aliases(conn, incoming)
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
            self._insert(conn, new_papers, now)
            counts.new = len(new_papers)
        if changed:
            self._update(conn, changed, now)
            counts.updated = len(changed)
        return counts

    @staticmethod
    def _with_normalised_doi(paper: Paper) -> Paper:
        doi = normalise_doi(paper.doi)
        return paper if doi == paper.doi else replace(paper, doi=doi)

    def _resolve_aliases(self, conn: Connection, incoming: dict[str, Paper]) -> dict[str, Paper]:
        """Join records of one work that arrive under different keys, through DOI or title.

        A journal feed's entry with a DOI the catalog knows, or a listing entry with the title and
        first author of a stored paper, joins that paper; an arXiv record whose DOI or title names
        a paper stored before its arXiv id was known takes that row over.
        """
        owners = self._owners(conn, "doi", {p.doi for p in incoming.values() if p.doi})
        # A record known by no id joins whatever holds its title; an arXiv record takes over only
        # a row known by no id, so two arXiv papers that share a title never merge.
        unkeyed = {title_key(p) for k, p in incoming.items() if _is_derived_key(k)}
        keyed = {title_key(p) for k, p in incoming.items() if not _is_derived_key(k)}
        by_title = self._owners(conn, "title_key", unkeyed)
        by_title_unkeyed = self._owners(conn, "title_key", keyed, derived_only=True)
        if not owners and not by_title and not by_title_unkeyed:
            return incoming
        result: dict[str, Paper] = {}
        for key, paper in incoming.items():
            titles = by_title if _is_derived_key(key) else by_title_unkeyed
            owner = (owners.get(paper.doi) if paper.doi else None) or titles.get(title_key(paper))
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
        col = papers_t.c[column]
        for chunk in _chunks(sorted(values), _IN_CHUNK):
            stmt = select(papers_t.c.key, col).where(col.in_(chunk))
            if derived_only:
                stmt = stmt.where(papers_t.c.key.like("t:%"))
            for key, value in conn.execute(stmt):
                current = found.get(value)
                if current is None or (_is_derived_key(current) and not _is_derived_key(key)):
                    found[value] = key
        return found

    def _paper_values(self, paper: Paper, now: datetime) -> dict[str, Any]:
        return dict(zip(_PAPER_COLUMNS, _paper_row(paper, now), strict=True))

    @staticmethod
    def _fast(conn: Connection) -> bool:
        """Whether rows go through :class:`_Rows`: psycopg 3 (COPY), SQLite 3.35+ (RETURNING)."""
        if conn.dialect.name == "postgresql":
            return conn.dialect.driver == "psycopg"
        info = conn.dialect.server_version_info
        return (
            conn.dialect.name == "sqlite"
            and conn.dialect.paramstyle == "qmark"
            and info is not None
            and tuple(info) >= (3, 35)
        )

    def _insert(self, conn: Connection, papers: list[Paper], now: datetime) -> None:
        if not self._fast(conn):
            dicts = [self._paper_values(p, now) | {"added_at": now} for p in papers]
            conn.execute(insert(papers_t), dicts)
            ids = self._ids_for(conn, [p.key for p in papers])
            self._insert_children(conn, [(ids[p.key], p) for p in papers])
            return
        memo: dict[Any, Any] = {}
        stamps = ("changed_at", "added_at")
        writer = _Rows(conn, papers_t, (*_PAPER_COLUMNS, "added_at"), memo, stamps)
        bind_now = papers_t.c.added_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        stamp = bind_now(now) if bind_now else now  # the same for every row: bound once
        rows = [(*_paper_row(p, stamp), stamp) for p in papers]
        quote = conn.dialect.identifier_preparer.quote
        key, row_id = quote("key"), quote("id")
        if conn.dialect.name == "sqlite":
            ids = dict(writer.insert(conn, rows, returning=f"{key}, {row_id}"))
        else:
            writer.insert(conn, rows)
            ids = dict(
                conn.exec_driver_sql(  # type: ignore[arg-type]
                    f"SELECT {key}, {row_id} FROM {quote(papers_t.name)} WHERE {key} = ANY(%s)",
                    ([p.key for p in papers],),
                ).all()
            )
        self._insert_children(conn, [(ids[p.key], p) for p in papers], memo)

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

    def _insert_children(
        self,
        conn: Connection,
        items: list[tuple[int, Paper]],
        memo: dict[Any, Any] | None = None,
    ) -> None:
        fast = self._fast(conn)
        for (table, columns), rows in zip(_CHILD_TABLES, _child_rows(items), strict=True):
            if not rows:
                continue
            if fast:
                _Rows(conn, table, columns, {} if memo is None else memo).insert(conn, rows)
            else:
                conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])

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
        rows: list[Any] = []
        for chunk in _chunks(keys, _IN_CHUNK):
            rows.extend(conn.execute(select(papers_t).where(papers_t.c.key.in_(chunk))))
        return {row.key: (row.id, paper) for row, paper in self._assemble(conn, rows)}

    def _assemble(self, conn: Connection, rows: list[Any]) -> list[tuple[Any, Paper]]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        authors: dict[int, list[Author]] = {}
        categories: dict[int, list[str]] = {}
        versions: dict[int, list[PaperVersion]] = {}
        sources: dict[int, list[str]] = {}
        for chunk in _chunks(ids, _IN_CHUNK):
            for a in conn.execute(
                select(authors_t)
                .where(authors_t.c.paper_id.in_(chunk))
                .order_by(authors_t.c.paper_id, authors_t.c.position)
            ):
                affs = tuple(x for x in a.affiliations.split("\n") if x)
                authors.setdefault(a.paper_id, []).append(Author(a.name, affs))
            for c in conn.execute(
                select(categories_t)
                .where(categories_t.c.paper_id.in_(chunk))
                .order_by(categories_t.c.paper_id, categories_t.c.position)
            ):
                categories.setdefault(c.paper_id, []).append(c.category)
            for v in conn.execute(
                select(versions_t)
                .where(versions_t.c.paper_id.in_(chunk))
                .order_by(versions_t.c.paper_id, versions_t.c.version)
            ):
                versions.setdefault(v.paper_id, []).append(PaperVersion(v.version, v.submitted))
            for s in conn.execute(
                select(sources_t)
                .where(sources_t.c.paper_id.in_(chunk))
                .order_by(sources_t.c.paper_id, sources_t.c.position)
            ):
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
