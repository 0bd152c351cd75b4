"""Importing files into the catalog: listing files, JSON Lines dumps and saved feeds."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterable, Iterator
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
    finally:
        run.finished_at = clock()
        catalog.record_run(run)
    return run


def _store(catalog: Catalog, papers: Iterable[Paper], run: IngestRun) -> None:
    batch = list(papers)
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
    with path.open("rb") as raw:
        counted = io.BufferedReader(_CountingReader(raw, on_progress), buffer_size=1 << 20)
        stream = cast(BinaryIO, gzip.GzipFile(fileobj=counted) if path.suffix == ".gz" else counted)
        batch: list[Paper] = []
        for item in _iter_lines_format(stream, fmt, source):
            if isinstance(item, Paper):
                batch.append(item)
                if len(batch) >= STREAM_BATCH:
                    _store(catalog, batch, run)
                    batch = []
            else:
                run.skipped += 1
                run.skipped_entries.append(item)
        if batch:
            _store(catalog, batch, run)
