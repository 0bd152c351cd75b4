"""Importing files into the catalog: listing files, JSON Lines dumps and saved feeds."""

from __future__ import annotations

import gc
import gzip
import io
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO, cast

from bot.domain.catalog import Catalog, IngestRun
from bot.domain.ingest import FeedError, ParseResult, SkippedEntry
from bot.domain.ingest.arxiv_api import parse_arxiv_api
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.ingest.detect import FORMATS, detect_format
from bot.domain.ingest.feeds import parse_feed
from bot.domain.ingest.jsonl import iter_papers_jsonl, iter_snapshot
from bot.domain.ingest.listing import parse_listing
from bot.domain.papers import Paper

LINE_FORMATS = frozenset({"snapshot-jsonl", "paperbot-jsonl"})
# Papers handed to the catalog per call while streaming a large file.
STREAM_BATCH = 5000


class ImportStopped(FeedError):
    """The file broke off part-way; the papers read before the break were stored."""

    def __init__(self, message: str, *, stored: int) -> None:
        super().__init__(message)
        self.stored = stored


Progress = Callable[[int], None]  # called with the number of bytes read so far


def parse_document(data: bytes, fmt: str, source: str) -> ParseResult:
    """Parse a whole document of a known format (feeds and listing files)."""
    if fmt == "arxiv-api":
        return parse_arxiv_api(data, source=source)
    if fmt == "arxiv-rss":
        return parse_arxiv_rss(data, source=source)
    if fmt == "feed":
        return parse_feed(data, source=source)
    if fmt == "listing":
        return parse_listing(data.decode("utf-8", errors="replace"), source=source)
    if fmt in LINE_FORMATS:
        result = ParseResult()
        for item in _iter_lines_format(io.BytesIO(data), fmt, source):
            if isinstance(item, Paper):
                result.papers.append(item)
            else:
                result.skipped.append(item)
        return result
    raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")


def _iter_lines_format(stream: IO[bytes], fmt: str, source: str) -> Iterator[Paper | SkippedEntry]:
    if fmt == "snapshot-jsonl":
        return iter_snapshot(stream, source=source)
    return iter_papers_jsonl(stream, source=source)


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


class _CountingReader(io.RawIOBase):
    """Reports bytes read (of the file on disk) so a progress bar can show rate and ETA."""

    def __init__(self, raw: IO[bytes], on_progress: Progress | None) -> None:
        self._raw = raw
        self._on_progress = on_progress
        self._read = 0

    @property
    def bytes_read(self) -> int:
        return self._read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._read += n
        if self._on_progress:
            self._on_progress(self._read)
        return n


def detect_file_format(path: Path) -> str:
    with _open(path) as fh:
        head = fh.read(16384)
    name = path.name.removesuffix(".gz")
    return detect_format(head, name)


def import_file(
    catalog: Catalog,
    path: Path,
    *,
    fmt: str | None = None,
    source: str | None = None,
    on_progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> IngestRun:
    """Import one file, streaming line formats so memory stays flat however large the file.

    A feed that is malformed as a whole raises FeedError and stores nothing; a malformed entry is
    skipped with its reason and recorded in the run.
    """
    fmt = fmt or detect_file_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    source = source or fmt
    run = IngestRun(source=f"import:{path.name}", started_at=clock())
    try:
        if fmt in LINE_FORMATS:
            _import_stream(catalog, path, fmt, source, run, on_progress)
        else:
            with _open(path) as fh:
                data = fh.read()
            if on_progress:
                on_progress(path.stat().st_size)
            result = parse_document(data, fmt, source)
            _store(catalog, result.papers, run)
            run.skipped += len(result.skipped)
            run.skipped_entries.extend(result.skipped)
            run.skipped_entries.extend(
                SkippedEntry(u.position, f"imported with doubt: {u.reason}", u.ref)
                for u in result.uncertain
            )
        run.status = "ok" if run.fetched else "empty"
    except FeedError as exc:
        run.status = "failed"
        run.reason = str(exc)
        raise
    except (OSError, EOFError, ValueError) as exc:
        # A file that cannot be read to its end (a cut .gz, a disk error): what landed before the
        # failure stays, and the run says why it stopped.
        run.status = "failed"
        run.reason = f"stopped after {run.fetched} papers: {exc}"
        raise ImportStopped(run.reason, stored=run.fetched) from exc
    finally:
        run.finished_at = clock()
        catalog.record_run(run)
    return run


def _store(catalog: Catalog, papers: Iterable[Paper], run: IngestRun) -> None:
    # A list goes as it is: it may be the catalog's own prepared batch (SqlCatalog.prepare).
    batch = papers if isinstance(papers, list) else list(papers)
    run.fetched += len(batch)
    counts = catalog.upsert(batch)
    run.new += counts.new
    run.updated += counts.updated
    run.unchanged += counts.unchanged


def _import_stream(
    catalog: Catalog,
    path: Path,
    fmt: str,
    source: str,
    run: IngestRun,
    on_progress: Progress | None,
) -> None:
    """Parse on a helper thread while this one stores the batch parsed before.

    Storing is mostly SQLite or PostgreSQL work that runs without the GIL, so on two or more
    cores parsing the next batch costs almost no wall time. The helper thread also has the
    catalog build each batch's rows (``prepare``), and the catalog is told a bulk load is coming
    (``bulk_load``, with the number of papers the file likely holds). Apart from ``prepare``,
    which touches no database, the catalog is only ever called from this thread (an in-memory
    SQLite database is per thread); progress is reported from here too, and at most
    :data:`_READ_AHEAD` parsed batches wait, so memory stays flat.
    """
    with path.open("rb") as raw:
        counted = _CountingReader(raw, None)
        buffered = io.BufferedReader(counted, buffer_size=1 << 20)
        stream = cast(
            BinaryIO, gzip.GzipFile(fileobj=buffered) if path.suffix == ".gz" else buffered
        )
        # A catalog that can build its rows ahead (SqlCatalog.prepare) does so on the parsing
        # thread, leaving the storing thread little to do but the database's own work.
        prepare = getattr(catalog, "prepare", None)
        parser = _Parser(_iter_lines_format(stream, fmt, source), counted, prepare)
        bulk_load = getattr(catalog, "bulk_load", None)
        with _interpreter_tuned_for_streaming():
            parser.start()
            try:
                with bulk_load(_expected_papers(path)) if bulk_load else nullcontext():
                    _store_chunks(catalog, parser, run, on_progress)
            finally:
                parser.stop()


# Bytes of JSON Lines per paper, about (arXiv's snapshot: 1.5-2 KB), and how much gzip shrinks
# them: a guess at how many papers a file holds, for the catalog to plan a bulk load by.
_BYTES_PER_PAPER = 2000
_GZIP_RATIO = 3


def _expected_papers(path: Path) -> int:
    size = path.stat().st_size
    if path.suffix == ".gz":
        size *= _GZIP_RATIO
    return size // _BYTES_PER_PAPER


def _store_chunks(
    catalog: Catalog, parser: _Parser, run: IngestRun, on_progress: Progress | None
) -> None:
    while (chunk := parser.next_chunk()) is not None:
        run.skipped += len(chunk.skipped)
        run.skipped_entries.extend(chunk.skipped)
        if chunk.papers:
            _store(catalog, chunk.papers, run)
        if on_progress:
            on_progress(chunk.bytes_read)


# The interpreter's thread switch interval while a stream imports (Python's default: 5 ms). The
# storing thread gives up the GIL for every database call and must win it back from the parsing
# thread, which can take a whole interval: about 10% of the storing thread's time at 5 ms.
_STREAM_SWITCH_INTERVAL = 0.0005
_tuning_lock = threading.Lock()
_tuning_users = 0
_tuning_saved: tuple[bool, float] = (True, 0.005)


@contextmanager
def _interpreter_tuned_for_streaming() -> Iterator[None]:
    """No cyclic garbage collection, and a short thread switch interval, while a stream imports.

    The papers, rows and batches of an import hold no reference cycles and are freed by reference
    counting as each batch is stored; but they are many, and the collector kept walking them and
    everything else alive: a fifth of the import's CPU time, most of it on the parsing thread.
    The little cyclic garbage made meanwhile (SQLAlchemy's, a few hundred objects a batch) waits
    for the first collection after the import. Both are process-wide settings: they are put
    back when the last import running in the process ends, however it ends.
    """
    global _tuning_users, _tuning_saved
    with _tuning_lock:
        if _tuning_users == 0:
            _tuning_saved = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(_STREAM_SWITCH_INTERVAL)
        _tuning_users += 1
    try:
        yield
    finally:
        with _tuning_lock:
            _tuning_users -= 1
            if _tuning_users == 0:
                enabled, interval = _tuning_saved
                sys.setswitchinterval(interval)
                if enabled:
                    gc.enable()


# Parsed batches that may wait for the store (besides the one being stored and the one being
# parsed): three batches of STREAM_BATCH papers in memory at most.
_READ_AHEAD = 1


@dataclass(slots=True)
class _Chunk:
    papers: list[Paper]
    skipped: list[SkippedEntry]
    bytes_read: int


class _Parser:
    """Runs a parser over a stream on a daemon thread, handing over batches of STREAM_BATCH papers.

    Skipped entries travel with the batch they were met in; an exception raised while reading or
    parsing is raised again by :meth:`next_chunk`, after the batches parsed before it (and the
    entries skipped since), as it would be without the thread.
    """

    def __init__(
        self,
        items: Iterator[Paper | SkippedEntry],
        counted: _CountingReader,
        prepare: Callable[[list[Paper]], list[Paper]] | None = None,
    ) -> None:
        self._items = items
        self._counted = counted
        self._prepare = prepare
        self._queue: queue.Queue[_Chunk | BaseException | None] = queue.Queue(_READ_AHEAD)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paperbot-import-parse", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def next_chunk(self) -> _Chunk | None:
        """The next batch, or None once the stream is done."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _send(self, item: _Chunk | BaseException | None) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        papers: list[Paper] = []
        skipped: list[SkippedEntry] = []
        try:
            for item in self._items:
                if isinstance(item, Paper):
                    papers.append(item)
                    if len(papers) >= STREAM_BATCH:
                        if not self._send(self._chunk(papers, skipped)):
                            return
                        papers, skipped = [], []
                else:
                    skipped.append(item)
                if self._stopping.is_set():
                    return
        except BaseException as exc:  # handed to the storing thread, which raises it
            if skipped:
                self._send(_Chunk([], skipped, self._counted.bytes_read))
            self._send(exc)
            return
        # The last batch goes even when empty: it carries the final byte count for progress.
        try:
            last = self._chunk(papers, skipped)
        except BaseException as exc:
            self._send(exc)
            return
        if self._send(last):
            self._send(None)

    def _chunk(self, papers: list[Paper], skipped: list[SkippedEntry]) -> _Chunk:
        if self._prepare is not None and papers:
            papers = self._prepare(papers)
        return _Chunk(papers, skipped, self._counted.bytes_read)
