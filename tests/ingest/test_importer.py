"""Streaming imports of JSON Lines: the rows a plain upsert of the parsed papers stores, on both
backends, whatever the batching; the interpreter's settings put back however the import ends."""

from __future__ import annotations

import gc
import gzip
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from benchmarks import corpus
from bot.domain.catalog import UpsertCounts
from bot.domain.ingest.jsonl import iter_snapshot
from bot.domain.papers import Paper
from bot.ingest import importer
from bot.ingest.importer import ImportStopped, import_file
from storage.catalog import SqlCatalog
from tests.support.catalog import clear_catalog, dump_catalog

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EXCERPT = Path(__file__).resolve().parents[1] / "domain" / "ingest" / "fixtures"
EXCERPT = EXCERPT / "snapshot_excerpt.jsonl"


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """600 synthetic snapshot records, then the real excerpt, a bad line and repeats."""
    path = tmp_path / "snapshot.jsonl"
    corpus.write_jsonl(path, 600, seed=3)
    lines = path.read_bytes().splitlines(keepends=True)
    extra = EXCERPT.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines, *extra, b"{not json\n", *lines[:50], *extra[:5]]))
    return path


@pytest.mark.parametrize("batch", [64, 5000])
def test_a_streamed_import_stores_what_upserting_the_parsed_papers_stores(
    engine: Engine, snapshot: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with snapshot.open("rb") as fh:
        papers = [p for p in iter_snapshot(fh, source="snapshot-jsonl") if isinstance(p, Paper)]
    catalog = SqlCatalog(engine, clock=lambda: NOW)
    expected = UpsertCounts()
    for start in range(0, len(papers), batch):  # the importer's batches
        expected += catalog.upsert(papers[start : start + batch])
    rows = dump_catalog(engine)
    clear_catalog(engine)

    monkeypatch.setattr(importer, "STREAM_BATCH", batch)
    monkeypatch.setattr(importer, "_BYTES_PER_PAPER", 1)  # plan for a large load: defer indexes
    run = import_file(SqlCatalog(engine, clock=lambda: NOW), snapshot)
    assert (run.new, run.updated, run.unchanged) == (
        expected.new,
        expected.updated,
        expected.unchanged,
    )
    assert run.fetched == len(papers) and run.skipped == 1
    assert dump_catalog(engine) == rows


def test_the_interpreter_settings_come_back(engine: Engine, snapshot: Path) -> None:
    interval = sys.getswitchinterval()
    assert gc.isenabled()
    import_file(SqlCatalog(engine), snapshot)
    assert gc.isenabled() and sys.getswitchinterval() == interval

    gc.disable()
    try:
        import_file(SqlCatalog(engine), snapshot)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cut_file_keeps_the_batches_before_the_cut_and_the_settings(
    engine: Engine, snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "STREAM_BATCH", 100)
    data = gzip.compress(snapshot.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    interval = sys.getswitchinterval()
    catalog = SqlCatalog(engine)
    with pytest.raises(ImportStopped) as stopped:
        import_file(catalog, cut)
    assert stopped.value.stored > 0 and stopped.value.stored % 100 == 0
    assert catalog.count() == stopped.value.stored
    assert gc.isenabled() and sys.getswitchinterval() == interval
