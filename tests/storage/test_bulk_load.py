"""Bulk loads (the import's write path): the same rows as plain upserts on both backends, and on
SQLite the dropped indexes, FTS5 settings and WAL checkpoints put back however the load ends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

import storage.catalog as catalog_module
from bot.domain.catalog import UpsertCounts
from bot.domain.papers import Author, Paper, PaperVersion
from storage.catalog import DEFERRABLE_INDEXES, SqlCatalog, restore_indexes
from storage.db import WalCheckpointer, create_db_engine
from storage.migrate import upgrade
from tests.support.catalog import clear_catalog, dump_catalog

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
NAMES = (
    "José Núñez",
    "Hinton, Geoffrey",
    "Ｆｕｌｌ Ｗｉｄｔｈ",
    "Amal Haddad",
    "Wei Zhang",
    "Ana López",
)


def _papers(n: int = 240) -> list[Paper]:
    """arXiv papers of one to three versions, with accents, "Family, Given" names, affiliations,
    repeated categories and DOIs in every spelling; papers known by DOI or title only; and records
    that join others by DOI or title, or repeat a paper within and across batches."""
    out: list[Paper] = []
    for i in range(n):
        versions = tuple(
            PaperVersion(v, T0 + timedelta(days=i, hours=v)) for v in range(1, i % 3 + 2)
        )
        names = [NAMES[(i + k) % len(NAMES)] for k in range(1 + i % 4)]
        out.append(
            Paper(
                title=f"Paper {i}: on models of kind {i % 7}",
                authors=tuple(
                    Author(name, ("Example Lab",) if k == 0 and i % 5 == 0 else ())
                    for k, name in enumerate(names)
                ),
                abstract=f"We study model {i} and its accuracy on task {i % 11}.",
                arxiv_id=f"2403.{i:05d}",
                version=versions[-1].version,
                categories=("cs.CL", "cs.LG", "cs.CL") if i % 4 == 0 else ("cs.CL",),
                published=versions[0].submitted,
                updated=versions[-1].submitted,
                doi=f"DOI:10.1000/X.{i}" if i % 6 == 0 else None,
                url=f"https://arxiv.org/abs/2403.{i:05d}",
                sources=("snapshot",),
                versions=versions,
            )
        )
    for i in range(0, n, 9):  # a journal's record of a paper, by DOI or by title and first author
        paper = out[i]
        out.append(
            Paper(
                title=paper.title if paper.doi is None else "The journal version",
                authors=paper.authors[:1],
                doi=None if paper.doi is None else f"https://doi.org/10.1000/x.{i}",
                journal_ref=f"J. Ex. {i}",
                sources=("feed:journal",),
            )
        )
    for i in range(n, n + 20):  # known by DOI or title only
        out.append(
            Paper(
                title=f"A blog post {i}",
                authors=(Author(NAMES[i % len(NAMES)]),),
                doi=f"10.5555/{i}" if i % 2 else None,
                sources=("blog",),
            )
        )
    for i in range(0, n, 13):  # a new version of an earlier paper
        paper = out[i]
        v = (paper.version or 0) + 1
        out.append(
            replace(
                paper,
                version=v,
                title=paper.title + " (revised)",
                versions=(PaperVersion(v, T0 + timedelta(days=400)),),
                updated=T0 + timedelta(days=400),
                sources=("api",),
            )
        )
    return out


def _plain(engine: Engine, papers: list[Paper]) -> UpsertCounts:
    counts = UpsertCounts()
    catalog = SqlCatalog(engine, clock=lambda: NOW)
    for start in range(0, len(papers), 50):
        counts += catalog.upsert(papers[start : start + 50])
    return counts


def _bulk(engine: Engine, papers: list[Paper], expected: int | None) -> UpsertCounts:
    counts = UpsertCounts()
    catalog = SqlCatalog(engine, clock=lambda: NOW)
    with catalog.bulk_load(expected):
        for start in range(0, len(papers), 50):
            counts += catalog.upsert(catalog.prepare(papers[start : start + 50]))
    return counts


@pytest.mark.parametrize("expected", [None, 1_000_000], ids=["indexes-kept", "indexes-deferred"])
def test_a_bulk_load_stores_what_plain_upserts_store(engine: Engine, expected: int | None) -> None:
    papers = _papers()
    plain_counts = _plain(engine, papers)
    plain_again = _plain(engine, papers[:100])
    plain_rows = dump_catalog(engine)
    clear_catalog(engine)

    bulk_counts = _bulk(engine, papers, expected)
    bulk_again = _bulk(engine, papers[:100], expected)
    assert (bulk_counts, bulk_again) == (plain_counts, plain_again)
    assert plain_counts.updated > 0 and plain_again.unchanged == 100
    assert dump_catalog(engine) == plain_rows


def test_prepare_only_computes(engine: Engine) -> None:
    catalog = SqlCatalog(engine)
    prepared = catalog.prepare(_papers()[:10])
    assert len(prepared) == 10 and catalog.count() == 0
    assert prepared[0].doi == "10.1000/x.0"  # the DOI normalised, as upsert stores it


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite catalog of this test's own, disposed of after it."""
    path = tmp_path / "catalog.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            name
            for (name,) in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'")
            )
        }


def _has_deferrable_indexes(engine: Engine) -> bool:
    return set(DEFERRABLE_INDEXES) <= _indexes(engine)


def _fts_config(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT k, v FROM papers_fts_config")).tuples().all())


def _fts_matches(engine: Engine) -> list[tuple[str, int]]:
    """Per word, how many papers the full-text index finds (the papers' rows, not their ids)."""
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)"))
        return [
            (word, conn.execute(text(f"SELECT count(*) FROM papers_fts('{word}')")).scalar_one())
            for word in ("model", "revised", "journal", "blog", "nunez", "hinton", "zhang")
        ]


@pytest.mark.parametrize("direct_values", [100_000, 0], ids=["one-insert", "staged"])
def test_planned_batches_store_what_plain_upserts_store(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, direct_values: int
) -> None:
    """Batches whose statements were bound ahead (SqlCatalog.prepare on SQLite), their papers in
    one INSERT or through the staging table, against plain upserts; batches that merge records
    fall back to building their rows as they are stored."""
    monkeypatch.setattr(catalog_module, "_DIRECT_VALUES", direct_values)
    planned: list[int] = []
    insert_planned = SqlCatalog._insert_planned

    def spy(self: SqlCatalog, conn: Any, plan: Any, now: datetime) -> None:
        planned.append(len(plan.papers))
        insert_planned(self, conn, plan, now)

    monkeypatch.setattr(SqlCatalog, "_insert_planned", spy)
    papers = _papers()
    plain_counts = _plain(sqlite_engine, papers)
    plain_rows, plain_matches = dump_catalog(sqlite_engine), _fts_matches(sqlite_engine)
    clear_catalog(sqlite_engine)
    assert not planned

    bulk_counts = _bulk(sqlite_engine, papers, 1_000_000)
    assert bulk_counts == plain_counts
    assert dump_catalog(sqlite_engine) == plain_rows
    assert _fts_matches(sqlite_engine) == plain_matches
    assert planned and sum(planned) < len(papers)  # both ways were taken


def test_deferrable_indexes_are_the_migrations_own(sqlite_template: Path) -> None:
    with sqlite3.connect(sqlite_template) as conn:
        found = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    assert {name: found.get(name) for name in DEFERRABLE_INDEXES} == DEFERRABLE_INDEXES


def test_a_large_load_drops_indexes_and_builds_them_again(sqlite_engine: Engine) -> None:
    before = _indexes(sqlite_engine)
    catalog = SqlCatalog(sqlite_engine)
    with catalog.bulk_load(expected=1_000_000):
        assert not _indexes(sqlite_engine) & set(DEFERRABLE_INDEXES)
        # The load's own indexes stay.
        assert {"ix_papers_doi", "ix_papers_title_key"} <= _indexes(sqlite_engine)
        assert _fts_config(sqlite_engine)["automerge"] == 16
        catalog.upsert(catalog.prepare(_papers()[:30]))
    assert _indexes(sqlite_engine) == before
    assert _fts_config(sqlite_engine) == {"version": 4, "automerge": 4, "hashsize": 1024 * 1024}
    with sqlite_engine.connect() as conn:
        conn.execute(text("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)"))
        assert conn.execute(text("SELECT count(*) FROM papers_fts_docsize")).scalar() == 30
        assert conn.execute(text("SELECT count(*) FROM papers_fts('model')")).scalar() == 30
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
        assert conn.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY, as configured


def test_a_small_load_or_one_into_a_larger_catalog_keeps_the_indexes(
    sqlite_engine: Engine,
) -> None:
    catalog = SqlCatalog(sqlite_engine)
    with catalog.bulk_load(expected=100):
        assert _has_deferrable_indexes(sqlite_engine)
        catalog.upsert(catalog.prepare(_papers()[:10]))
    with sqlite_engine.begin() as conn:  # as if the catalog held 50,000 papers
        conn.execute(
            text(
                "INSERT INTO papers (id, key, title, added_at, changed_at) "
                "VALUES (50000, 'x', 'x', '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
    with catalog.bulk_load(expected=40_000):
        assert _has_deferrable_indexes(sqlite_engine)


def test_a_load_that_fails_keeps_its_batches_and_puts_everything_back(
    sqlite_engine: Engine,
) -> None:
    before = _indexes(sqlite_engine)
    catalog = SqlCatalog(sqlite_engine)
    papers = _papers()[:60]
    with pytest.raises(RuntimeError, match="disk on fire"), catalog.bulk_load(expected=10**6):
        catalog.upsert(catalog.prepare(papers[:30]))
        raise RuntimeError("disk on fire")
    assert catalog.count() == 30
    assert _indexes(sqlite_engine) == before
    assert _fts_config(sqlite_engine)["automerge"] == 4


def test_indexes_an_interrupted_load_left_out_come_back(sqlite_engine: Engine) -> None:
    SqlCatalog(sqlite_engine).upsert(_papers()[:20])
    with sqlite_engine.begin() as conn:  # what a load killed before its end leaves
        conn.execute(text("DROP INDEX ix_paper_authors_surname_name"))
        conn.execute(text("DROP INDEX ix_papers_day"))
        conn.execute(text("INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', 16)"))
    assert restore_indexes(sqlite_engine) == ["ix_papers_day", "ix_paper_authors_surname_name"]
    assert _has_deferrable_indexes(sqlite_engine)
    assert restore_indexes(sqlite_engine) == []

    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_papers_arxiv_id"))
    upgrade(sqlite_engine)  # paperbot db upgrade
    assert "ix_papers_arxiv_id" in _indexes(sqlite_engine)

    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_papers_published"))
    catalog = SqlCatalog(sqlite_engine)
    with catalog.bulk_load(expected=10):  # the next load, too
        pass
    assert "ix_papers_published" in _indexes(sqlite_engine)
    assert _fts_config(sqlite_engine)["automerge"] == 4  # not the 16 the killed load left


def test_an_older_schema_is_left_as_its_migrations_made_it(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    assert "ix_papers_day" not in _indexes(engine)
    assert restore_indexes(engine) == []
    upgrade(engine)
    assert _has_deferrable_indexes(engine)
    engine.dispose()


def test_checkpoints_run_on_their_own_thread_during_a_load(sqlite_engine: Engine) -> None:
    catalog = SqlCatalog(sqlite_engine)
    with catalog.bulk_load(expected=10**6):
        bulk = catalog._bulk
        assert bulk is not None and bulk.checkpointer is not None
        driver = bulk.conn.connection.driver_connection
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        papers = _papers()[:100]
        for start in range(0, 100, 25):
            catalog.upsert(catalog.prepare(papers[start : start + 25]))
    assert bulk.checkpointer.checkpoints >= 1
    with sqlite_engine.connect() as conn:
        busy, log, done = conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
        assert (busy, log) == (0, done)


def test_the_checkpointer_holds_the_wal_to_its_limit(sqlite_engine: Engine) -> None:
    catalog = SqlCatalog(sqlite_engine)
    with sqlite_engine.connect() as conn:
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA wal_autocheckpoint=0")
        checkpointer = WalCheckpointer(sqlite_engine, limit=50)
        try:
            papers = _papers()[:200]
            for start in range(0, 200, 20):
                checkpointer.throttle()
                with conn.begin():
                    catalog._upsert_batch(conn, papers[start : start + 20], {})
                checkpointer.committed()
        finally:
            checkpointer.close()
            driver.execute("PRAGMA wal_autocheckpoint=1000")
    assert checkpointer.checkpoints >= 1
    wal = Path(f"{sqlite_engine.url.database}-wal")
    # Restarted rather than grown: far less than the 200 papers' pages written.
    assert wal.stat().st_size < 4096 * 400
