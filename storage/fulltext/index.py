"""The tantivy index of the catalog: its schema, full builds, incremental updates, metadata.

One document per row of ``papers``:

* ``pid`` (u64, indexed and fast): ``papers.id``, how hits are fetched from the database;
* ``key`` (raw, stored) and ``arxiv`` (raw): ``papers.key`` and ``papers.arxiv_id``, for ``id:``;
* ``title`` and ``abstract``: words folded to ASCII, lower case, Snowball English stems, with
  positions (phrases), as FTS5's ``porter unicode61 remove_diacritics 2`` and PostgreSQL's
  ``english`` configuration treat them;
* ``author``: ``papers.authors_folded`` (every author's folded name, space-separated), folded
  but not stemmed (names compare whole: Andrews is not Andrew);
* ``org``: ``papers.affiliations_text`` as one raw term, ASCII lower case, for ``org:``'s
  substring match (a regular expression over that field's terms);
* ``cat`` and ``archive`` (raw): the rows of ``paper_categories``;
* ``recent`` (u64, fast): the listing day and the id in one number, ``seconds << ID_BITS | id``
  with the seconds of ``coalesce(published, updated, added_at)`` counted from 1800-01-01 UTC. It
  orders ``sort:recent`` and listings as SQL does (day, then id, newest first) and answers
  ``since:``/``until:``/``year:`` exactly (their bounds are whole days).

Metadata (:class:`IndexMeta`) lives in the index directory as ``paperbot-index.json``: the schema
version, which database the index was built from, the highest paper id and how many papers it
holds, and the **watermark**: the newest ``papers.changed_at`` indexed and when the scan that saw
it started. An incremental update re-indexes the rows with ``changed_at`` after the watermark, or
within ``margin`` of the previous scan's start (a transaction stamps its rows when it starts and
may commit after the scan read past them), deleting each paper by id and key before adding it
back. No table or migration is needed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.engine import make_url

from storage.types import UTCDateTime

__all__ = [
    "ID_BITS",
    "META_NAME",
    "SCHEMA_VERSION",
    "IndexMeta",
    "IndexUnavailable",
    "SearchIndex",
    "UpdateResult",
    "build_index",
    "day_bounds",
    "default_index_dir",
    "index_status",
    "recent_key",
    "update_index",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bumped whenever the fields or their analysis change: an index of another version is rebuilt."""
META_NAME = "paperbot-index.json"
EN = "paperbot_en"
NAME = "paperbot_name"
ID_BITS = 28
"""Low bits of ``recent`` holding the paper id (268 million papers); the high 36 bits hold the
seconds since 1800-01-01 (until the year 3977)."""
_ID_MASK = (1 << ID_BITS) - 1
_MAX_SECONDS = (1 << (64 - ID_BITS)) - 1
_BASE = datetime(1800, 1, 1, tzinfo=UTC)
_BASE_OFFSET = -int(_BASE.timestamp())  # seconds from 1800-01-01 to 1970-01-01
UPDATE_MARGIN = timedelta(minutes=2)
"""How long a catalog write may stay uncommitted after stamping ``changed_at`` (a batch of 5,000
papers takes seconds): rows stamped within this of a scan's start are read again next time."""
BATCH = 2_000
"""Papers read from the database per query while indexing."""
BUILD_HEAP = 256_000_000
"""Bytes tantivy's writer buffers (all threads together) before it writes a segment."""
UPDATE_HEAP = 64_000_000
MAX_TERM_BYTES = 4_000
"""Longer words are left out of the index (tantivy's terms hold at most 64 KiB; no real word
is this long). ``org``'s raw term is cut to this many characters."""
_IN_CHUNK = 500

ProgressFn = Callable[[int, int], None]
"""Called with (papers indexed so far, papers to index)."""


class IndexUnavailable(Exception):
    """The index cannot answer: missing, of another schema, of another database, behind the
    database, or unreadable. The message says which, for the log."""

    def __init__(self, reason: str, *, state: str = "unusable") -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state


@dataclass
class IndexMeta:
    """What ``paperbot-index.json`` records about the index beside it."""

    schema_version: int
    engine: str  # tantivy's version string
    database: str  # which catalog: the first paper's key and added_at ("" while empty)
    papers: int  # documents in the index
    max_id: int  # highest papers.id indexed
    watermark: str | None  # newest papers.changed_at indexed (ISO 8601, UTC)
    scanned_at: str  # when the scan that read it started (ISO 8601, UTC)
    built_at: str  # when the last full build finished
    build_seconds: float  # how long that build took
    updated_at: str | None = None  # when the last incremental update finished

    @classmethod
    def read(cls, directory: Path) -> IndexMeta:
        path = directory / META_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexUnavailable(f"no index at {directory}", state="missing") from None
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"unreadable {path.name}: {exc}", state="corrupt") from None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise IndexUnavailable(f"unreadable {path.name}: {exc}", state="corrupt") from None

    def write(self, directory: Path) -> None:
        path = directory / META_NAME
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What an update did: ``built`` (a full build) or ``updated``, and how many papers."""

    action: str  # "built", "updated", "unchanged"
    papers: int  # papers (re)indexed
    seconds: float
    meta: IndexMeta
    reason: str = ""  # why a full build was needed


# --- schema and analysis ------------------------------------------------------------------------


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    words = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    words = words.filter(tantivy.Filter.remove_long(MAX_TERM_BYTES))
    words = words.filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold())
    names = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    names = names.filter(tantivy.Filter.remove_long(MAX_TERM_BYTES))
    names = names.filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold())
    return {
        EN: words.filter(tantivy.Filter.stemmer("english")).build(),
        NAME: names.build(),
    }


_ANALYZERS = _analyzers()
FIELD_ANALYZER = {"title": EN, "abstract": EN, "author": NAME}


def analyze(field: str, word: str) -> list[str]:
    """The index terms ``word`` becomes in a text field (usually one; none for a symbol)."""
    return list(_ANALYZERS[FIELD_ANALYZER[field]].analyze(word))


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_unsigned_field("pid", indexed=True, fast=True)
    b.add_text_field("key", stored=True, tokenizer_name="raw", index_option="basic")
    b.add_text_field("arxiv", tokenizer_name="raw", index_option="basic")
    b.add_text_field("title", tokenizer_name=EN, index_option="position")
    b.add_text_field("abstract", tokenizer_name=EN, index_option="position")
    b.add_text_field("author", tokenizer_name=NAME, index_option="position")
    b.add_text_field("org", tokenizer_name="raw", index_option="basic")
    b.add_text_field("cat", tokenizer_name="raw", index_option="basic")
    b.add_text_field("archive", tokenizer_name="raw", index_option="basic")
    b.add_unsigned_field("recent", fast=True)
    return b.build()


SCHEMA = _schema()


def _register(index: tantivy.Index) -> tantivy.Index:
    for name, analyzer in _ANALYZERS.items():
        index.register_tokenizer(name, analyzer)
    return index


def recent_key(day_seconds: int, paper_id: int) -> int:
    """``recent`` for a paper: its day (Unix seconds) and id, ordered as SQL orders them."""
    seconds = min(max(day_seconds + _BASE_OFFSET, 0), _MAX_SECONDS)
    return (seconds << ID_BITS) | (paper_id & _ID_MASK)


def paper_id_of(recent: int) -> int:
    return recent & _ID_MASK


def day_bounds(since: date | None, until: date | None) -> tuple[int | None, int | None]:
    """Inclusive bounds on ``recent`` for papers whose day is in [since, until] (UTC days)."""

    def start(day: date) -> int:
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return int(moment.timestamp())

    low = recent_key(start(since), 0) if since is not None else None
    high = None
    if until is not None and until < date.max:
        high = recent_key(start(until + timedelta(days=1)), 0) - 1
    return low, high


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def org_value(affiliations: str | None) -> str:
    """How ``org`` holds the affiliations: ASCII lower case, as SQLite's lower() and LIKE."""
    return (affiliations or "").translate(_ASCII_LOWER)[:MAX_TERM_BYTES]


def default_index_dir(database_url: str, configured: str | Path | None = None) -> Path:
    """Where the index of ``database_url`` lives: ``configured`` if given, else beside a SQLite
    file (``data/paperbot.db`` -> ``data/paperbot.search``), else ``data/<database>.search``."""
    from bot.settings import PROJECT_ROOT

    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path
    url = make_url(database_url)
    name = url.database or "paperbot"
    if url.get_backend_name() == "sqlite":
        if name in ("", ":memory:"):
            return PROJECT_ROOT / "data" / "memory.search"
        db = Path(name).expanduser()
        db = db if db.is_absolute() else PROJECT_ROOT / db
        return db.with_name(db.stem + ".search")
    host = (url.host or "local").replace("/", "_")
    return PROJECT_ROOT / "data" / f"{name}-{host}.search"


# --- the read side ------------------------------------------------------------------------------


class SearchIndex:
    """An index opened for searching, with its metadata. Cheap to open; reopen after a rebuild."""

    def __init__(self, path: Path, index: tantivy.Index, meta: IndexMeta) -> None:
        self.path = path
        self.index = index
        self.meta = meta
        self.schema = SCHEMA

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """Raises IndexUnavailable (missing, another schema, unreadable)."""
        meta = IndexMeta.read(path)
        if meta.schema_version != SCHEMA_VERSION:
            raise IndexUnavailable(
                f"index schema {meta.schema_version}, this version needs {SCHEMA_VERSION}",
                state="incompatible",
            )
        try:
            index = _register(tantivy.Index.open(str(path)))
            index.searcher()  # reads the segments' metadata: fails here if they are damaged
        except BaseException as exc:  # tantivy's panics are BaseExceptions
            if not _engine_error(exc):
                raise
            raise IndexUnavailable(f"cannot open the index: {exc}", state="corrupt") from None
        return cls(path, index, meta)

    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()


def _engine_error(exc: BaseException) -> bool:
    """An error from tantivy (an Exception, or a Rust panic surfacing as a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


# --- reading the catalog --------------------------------------------------------------------------


def _day_seconds_sql(dialect: str) -> str:
    day = "coalesce(published, updated, added_at)"
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {day}) AS INTEGER)"
    return f"CAST(floor(extract(epoch FROM {day})) AS BIGINT)"


def _rows_sql(dialect: str, where: str, *binds: Any, limit: bool = False) -> Any:
    """The papers rows an index document is made from (``day`` in Unix seconds)."""
    return (
        text(
            "SELECT id, key, arxiv_id, title, abstract, authors_folded, affiliations_text, "
            f"{_day_seconds_sql(dialect)} AS day, changed_at FROM papers WHERE {where} ORDER BY id"
            + (" LIMIT :n" if limit else "")
        )
        .bindparams(*binds)
        .columns(changed_at=UTCDateTime())
    )


def _categories(conn: Connection, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    if not ids:
        return out
    if ids[-1] - ids[0] < 4 * len(ids):  # dense (a full build): one range scan
        rows = conn.execute(
            text(
                "SELECT paper_id, category, archive FROM paper_categories "
                "WHERE paper_id BETWEEN :lo AND :hi"
            ),
            {"lo": ids[0], "hi": ids[-1]},
        )
        for pid, cat, archive in rows:
            out.setdefault(pid, []).append((cat, archive))
        return out
    statement = text(
        "SELECT paper_id, category, archive FROM paper_categories WHERE paper_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for i in range(0, len(ids), _IN_CHUNK):
        for pid, cat, archive in conn.execute(statement, {"ids": list(ids[i : i + _IN_CHUNK])}):
            out.setdefault(pid, []).append((cat, archive))
    return out


def _document(row: Any, cats: list[tuple[str, str]]) -> tantivy.Document:
    doc = tantivy.Document()
    pid = int(row[0])
    doc.add_unsigned("pid", pid)
    doc.add_text("key", row[1])
    if row[2]:
        doc.add_text("arxiv", row[2])
    doc.add_text("title", row[3] or "")
    doc.add_text("abstract", row[4] or "")
    doc.add_text("author", row[5] or "")
    if row[6]:
        doc.add_text("org", org_value(row[6]))
    archives = set()
    for cat, archive in cats:
        doc.add_text("cat", cat)
        archives.add(archive)
    for archive in sorted(archives):
        doc.add_text("archive", archive)
    doc.add_unsigned("recent", recent_key(int(row[7] or 0), pid))
    return doc


def _identity(conn: Connection) -> str:
    row = conn.execute(text("SELECT key, added_at FROM papers ORDER BY id LIMIT 1")).first()
    return "" if row is None else f"{row[0]}|{row[1]}"


def _max_id(conn: Connection) -> int:
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one())


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse(moment: str | None) -> datetime | None:
    return None if moment is None else datetime.fromisoformat(moment)


def _now() -> datetime:
    return datetime.now(UTC)


# --- writing ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One writer at a time across processes: a lock file beside the index directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: tantivy's own writer lock still guards the index
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise IndexUnavailable(
                f"another process is writing the index at {path}", state="busy"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _index_rows(
    writer: tantivy.IndexWriter,
    conn: Connection,
    batch: Sequence[Any],
    *,
    replace: bool,
) -> datetime | None:
    """Add one batch of papers rows; with ``replace`` their old documents (by id or key) go
    first. Returns the newest changed_at of the batch."""
    ids = [int(r[0]) for r in batch]
    cats = _categories(conn, ids)
    if replace:
        writer.delete_documents_by_query(
            tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.term_set_query(SCHEMA, "pid", ids)),
                    (
                        tantivy.Occur.Should,
                        tantivy.Query.term_set_query(SCHEMA, "key", [r[1] for r in batch]),
                    ),
                ]
            )
        )
    newest: datetime | None = None
    for row in batch:
        writer.add_document(_document(row, cats.get(int(row[0]), [])))
        changed = row[8]
        if changed is not None and (newest is None or changed > newest):
            newest = changed
    return newest


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def build_index(
    engine: Engine,
    path: Path,
    *,
    progress: ProgressFn | None = None,
    threads: int | None = None,
    heap: int = BUILD_HEAP,
) -> IndexMeta:
    """Build the index of every paper into a new directory, then put it in place of ``path``.

    Searches keep using the old index (or the database) until the new one is complete.
    """
    with _lock(path):
        return _build(engine, path, progress=progress, threads=threads, heap=heap)


def _build(
    engine: Engine,
    path: Path,
    *,
    progress: ProgressFn | None,
    threads: int | None,
    heap: int,
) -> IndexMeta:
    started = time.perf_counter()
    scanned_at = _now()
    tmp = path.with_name(f"{path.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        index = _register(tantivy.Index(SCHEMA, path=str(tmp), reuse=False))
        n_threads = threads or max(1, min(4, os.cpu_count() or 1))
        writer = index.writer(heap_size=max(heap, 16_000_000 * n_threads), num_threads=n_threads)
        dialect = engine.dialect.name
        watermark: datetime | None = None
        done = 0
        with engine.connect() as conn:
            identity = _identity(conn)
            total = int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
            if progress:
                progress(0, total)
            statement = _rows_sql(dialect, "id > :last", limit=True)
            last = 0
            max_id = 0
            while True:
                batch = conn.execute(statement, {"last": last, "n": BATCH}).all()
                if not batch:
                    break
                watermark = _later(watermark, _index_rows(writer, conn, batch, replace=False))
                last = max_id = int(batch[-1][0])
                done += len(batch)
                if progress:
                    progress(done, max(total, done))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        papers = index.searcher().num_docs
        meta = IndexMeta(
            schema_version=SCHEMA_VERSION,
            engine=str(getattr(tantivy, "__version__", "?")),
            database=identity,
            papers=papers,
            max_id=max_id,
            watermark=_iso(watermark),
            scanned_at=_iso(scanned_at) or "",
            built_at=_iso(_now()) or "",
            build_seconds=round(time.perf_counter() - started, 1),
        )
        meta.write(tmp)
        del writer, index
        _swap(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built the search index of %d papers at %s in %.1fs", papers, path, meta.build_seconds)
    return meta


def _swap(new: Path, path: Path) -> None:
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(new, path)
    shutil.rmtree(old, ignore_errors=True)


def update_index(
    engine: Engine,
    path: Path,
    *,
    progress: ProgressFn | None = None,
    margin: timedelta = UPDATE_MARGIN,
    rebuild: bool = False,
    build_missing: bool = True,
) -> UpdateResult:
    """Bring the index up to date with ``papers``: re-index what changed since the watermark,
    or build it all when it is missing, of another schema or database, unreadable, or with
    ``rebuild``. ``build_missing`` False raises IndexUnavailable rather than building.

    Raises IndexUnavailable (state ``busy``) when another process is writing the index.
    """
    started = time.perf_counter()
    with _lock(path):
        reason = "asked to rebuild" if rebuild else ""
        meta: IndexMeta | None = None
        if not reason:
            try:
                meta = SearchIndex.open(path).meta
            except IndexUnavailable as exc:
                reason = exc.reason
                if not build_missing:
                    raise
        if meta is not None and not reason:
            with engine.connect() as conn:
                reason = _mismatch(conn, meta)
        if reason:
            log.info("building the search index at %s: %s", path, reason)
            built = _build(engine, path, progress=progress, threads=None, heap=BUILD_HEAP)
            return UpdateResult(
                "built", built.papers, time.perf_counter() - started, built, reason=reason
            )
        assert meta is not None
        n = _update(engine, path, meta, progress=progress, margin=margin)
    return UpdateResult("updated" if n else "unchanged", n, time.perf_counter() - started, meta)


def _mismatch(conn: Connection, meta: IndexMeta) -> str:
    """Why the index cannot be updated in place from this database ("" when it can)."""
    identity = _identity(conn)
    if meta.database and identity and identity != meta.database:
        return "the index was built from another database"
    if _max_id(conn) < meta.max_id:
        return "the index holds papers the database does not (was the database replaced?)"
    return ""


def _update(
    engine: Engine, path: Path, meta: IndexMeta, *, progress: ProgressFn | None, margin: timedelta
) -> int:
    """Re-index changed rows in place; updates ``meta`` (and its file). Returns how many."""
    scanned_at = _now()
    watermark = _parse(meta.watermark)
    previous_scan = _parse(meta.scanned_at) or scanned_at
    dialect = engine.dialect.name
    params: dict[str, Any] = {}
    if watermark is None:
        where = "1 = 1"
    else:
        where = "(changed_at > :w OR changed_at >= :s)"
        params = {"w": watermark, "s": previous_scan - margin}
    with engine.connect() as conn:
        identity = _identity(conn)
        ids = [
            int(r[0])
            for r in conn.execute(
                text(f"SELECT id FROM papers WHERE {where} ORDER BY id").bindparams(
                    *(bindparam(k, type_=UTCDateTime()) for k in params)
                ),
                params,
            )
        ]
        max_id = max(meta.max_id, _max_id(conn))
        if not ids:
            meta.scanned_at = _iso(scanned_at) or meta.scanned_at
            meta.database = meta.database or identity
            meta.max_id = max_id
            meta.write(path)
            return 0
        if progress:
            progress(0, len(ids))
        index = _register(tantivy.Index.open(str(path)))
        writer = index.writer(heap_size=UPDATE_HEAP, num_threads=1)
        statement = _rows_sql(dialect, "id IN :ids", bindparam("ids", expanding=True))
        newest = watermark
        done = 0
        try:
            for i in range(0, len(ids), _IN_CHUNK):
                batch = conn.execute(statement, {"ids": ids[i : i + _IN_CHUNK]}).all()
                newest = _later(newest, _index_rows(writer, conn, batch, replace=True))
                done += len(batch)
                if progress:
                    progress(done, len(ids))
            writer.commit()
        except BaseException:
            with contextlib.suppress(BaseException):
                writer.rollback()
            raise
        writer.wait_merging_threads()
    index.reload()
    meta.papers = index.searcher().num_docs
    meta.max_id = max_id
    meta.database = meta.database or identity
    meta.watermark = _iso(newest)
    meta.scanned_at = _iso(scanned_at) or meta.scanned_at
    meta.updated_at = _iso(_now())
    meta.write(path)
    log.info("search index: %d papers re-indexed at %s", len(ids), path)
    return len(ids)


def index_status(engine: Engine, path: Path) -> tuple[str, str, IndexMeta | None]:
    """(state, reason, meta): ``ok``, or ``missing``, ``incompatible``, ``corrupt``,
    ``foreign`` (another database) or ``behind`` (papers not indexed yet), with why."""
    try:
        meta = SearchIndex.open(path).meta
    except IndexUnavailable as exc:
        return exc.state, exc.reason, None
    with engine.connect() as conn:
        mismatch = _mismatch(conn, meta)
        if mismatch:
            return "foreign", mismatch, meta
        newest = _max_id(conn)
    if newest > meta.max_id:
        return "behind", f"papers after id {meta.max_id} are not indexed yet", meta
    return "ok", f"{meta.papers:,} papers indexed", meta
