"""Import benchmarks: bulk JSON Lines into SQLite and PostgreSQL, and the daily RSS ingest.

Every measured import goes through the real path (``bot.ingest.importer.import_file`` into a
``SqlCatalog`` on a freshly migrated database) in a subprocess of its own, so each size reports
its own peak memory. Baselines run in the same invocation: a naive importer (one paper per
``upsert`` call, so one transaction each) and the raw floor (plain ``sqlite3`` executemany of the
papers rows: JSON decoding and the papers table with its indexes, no children, no full-text index).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks import corpus
from benchmarks.common import (
    DATA_DIR,
    IsolatedRunError,
    file_size_mb,
    fmt_rate,
    fmt_ratio,
    measure,
    peak_rss_mb,
    print_table,
    ratio,
    remove_database,
    rss_mb,
    run_isolated,
)

RSS_FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "arxiv"
    / "rss_2024-11-28_all_archives.xml"
)
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SNAPSHOT_SOURCE = "snapshot-jsonl"  # what import_file calls a snapshot's papers by default
FLOOR_BATCH = 5000

DEFAULT_SIZES = (20_000, 100_000, 500_000)
QUICK_SIZES = (20_000, 50_000)
DEFAULT_PG_SIZES = (20_000, 100_000)
QUICK_PG_SIZES = (20_000,)
NAIVE_PAPERS = 2_000
QUICK_NAIVE_PAPERS = 1_000
RSS_REPEATS = 5
QUICK_RSS_REPEATS = 2
CORPUS_RECORDS = 200_000
QUICK_CORPUS_RECORDS = 50_000
TARGET_PAPERS_PER_SECOND = 5_000


@dataclass(slots=True)
class Options:
    sizes: Sequence[int] = DEFAULT_SIZES
    pg_sizes: Sequence[int] = DEFAULT_PG_SIZES
    naive_papers: int = NAIVE_PAPERS
    rss_repeats: int = RSS_REPEATS
    corpus_records: int = CORPUS_RECORDS
    seed: int = 0
    postgres_url: str = POSTGRES_URL
    keep_data: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def quick(cls) -> Options:
        return cls(
            sizes=QUICK_SIZES,
            pg_sizes=QUICK_PG_SIZES,
            naive_papers=QUICK_NAIVE_PAPERS,
            rss_repeats=QUICK_RSS_REPEATS,
            corpus_records=QUICK_CORPUS_RECORDS,
        )


# -- corpora ---------------------------------------------------------------------------------------


def _generator_fingerprint() -> str:
    digest = hashlib.sha256(Path(corpus.__file__).read_bytes())
    digest.update(corpus.FIXTURE.read_bytes())
    return digest.hexdigest()[:10]


def corpus_file(n: int, seed: int = 0) -> Path:
    """The corpus of ``n`` papers under benchmarks/data/, written once per generator version."""
    fingerprint = _generator_fingerprint()
    path = DATA_DIR / f"corpus-{n}-seed{seed}-{fingerprint}.jsonl"
    if not path.exists():
        for stale in DATA_DIR.glob(f"corpus-{n}-seed{seed}-*.jsonl"):
            stale.unlink()
        with measure() as m:
            corpus.write_jsonl(path, n, seed)
        print(f"  wrote {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in {m.wall:.1f}s")
    return path


# -- workers (each runs in a subprocess of its own) ------------------------------------------------


def _fresh_sqlite(database: Path) -> Any:
    from storage.db import create_db_engine
    from storage.migrate import upgrade

    remove_database(database)
    engine = create_db_engine(f"sqlite:///{database}")
    upgrade(engine)
    return engine


def sqlite_import_worker(corpus_path: str, database: str) -> dict[str, Any]:
    """import_file of the whole corpus into a fresh SQLite database (the real path)."""
    from bot.ingest.importer import import_file
    from storage.catalog import SqlCatalog

    db = Path(database)
    engine = _fresh_sqlite(db)
    catalog = SqlCatalog(engine)
    rss_before = rss_mb()
    load_before = _load_1min()
    writer_cpu = time.thread_time()
    with measure() as m:
        run = import_file(catalog, Path(corpus_path))
    writer_cpu = time.thread_time() - writer_cpu
    load_after = _load_1min()
    peak = peak_rss_mb()
    with engine.connect() as conn:
        papers = conn.exec_driver_sql("SELECT count(*) FROM papers").scalar_one()
        authors = conn.exec_driver_sql("SELECT count(*) FROM paper_authors").scalar_one()
        # One docsize row per indexed document: the full-text index covers every paper.
        indexed = conn.exec_driver_sql("SELECT count(*) FROM papers_fts_docsize").scalar_one()
    engine.dispose()
    size = file_size_mb(db)
    return {
        "papers": run.fetched,
        "stored": papers,
        "fts_indexed": indexed,
        "author_rows": authors,
        "new": run.new,
        "skipped": run.skipped,
        "wall_s": round(m.wall, 3),
        "cpu_s": round(m.cpu, 3),
        "papers_per_s": round(run.fetched / m.wall, 1),
        "cpu_us_per_paper": round(m.cpu / run.fetched * 1e6, 1),
        # The storing thread (this one) apart from the others (parsing, WAL checkpoints).
        "writer_cpu_us_per_paper": round(writer_cpu / run.fetched * 1e6, 1),
        "other_threads_cpu_us_per_paper": round((m.cpu - writer_cpu) / run.fetched * 1e6, 1),
        "load_1min_before_after": [load_before, load_after],
        "db_mb": round(size, 1),
        "rss_before_import_mb": None if rss_before is None else round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
    }


def _load_1min() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def naive_import_worker(corpus_path: str, database: str, papers: int) -> dict[str, Any]:
    """The baseline: the same parser and SqlCatalog.upsert, one paper (one transaction) a call."""
    from bot.domain.ingest.jsonl import iter_snapshot
    from bot.domain.papers import Paper
    from storage.catalog import SqlCatalog

    db = Path(database)
    engine = _fresh_sqlite(db)
    catalog = SqlCatalog(engine)
    stored = 0
    with measure() as m, open(corpus_path, "rb") as fh:
        for item in islice(iter_snapshot(fh, source=SNAPSHOT_SOURCE), papers):
            if isinstance(item, Paper):
                stored += catalog.upsert([item]).new
    engine.dispose()
    remove_database(db)
    return {
        "papers": stored,
        "wall_s": round(m.wall, 3),
        "cpu_s": round(m.cpu, 3),
        "papers_per_s": round(stored / m.wall, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _floor_row(record: dict[str, Any], now: str) -> tuple[Any, ...]:
    arxiv_id = record["id"]
    versions = record.get("versions") or []
    created = versions[0]["created"] if versions else None
    return (
        arxiv_id,
        arxiv_id,
        len(versions) or None,
        record["title"],
        record["abstract"].strip(),
        record["authors"],
        record["authors"].lower(),
        "",
        record["categories"].split()[0],
        created,
        versions[-1]["created"] if versions else None,
        record.get("doi"),
        record.get("journal-ref"),
        record.get("comments"),
        f"https://arxiv.org/abs/{arxiv_id}",
        f"https://arxiv.org/pdf/{arxiv_id}",
        now,
        now,
    )


def floor_worker(corpus_path: str, database: str) -> dict[str, Any]:
    """The raw floor: json.loads and sqlite3 executemany of papers rows, nothing else."""
    from storage.db import _sqlite_pragmas

    db = Path(database)
    _fresh_sqlite(db).dispose()
    conn = sqlite3.connect(db, isolation_level=None)
    _sqlite_pragmas(conn, None)  # the same settings as the catalog's connections
    conn.execute("DROP TRIGGER papers_fts_ai")  # no full-text index
    columns = (
        "key, arxiv_id, version, title, abstract, authors_text, authors_folded, "
        "affiliations_text, primary_category, published, updated, doi, journal_ref, comment, "
        "url, pdf_url, added_at, changed_at"
    )
    sql = f"INSERT INTO papers ({columns}) VALUES ({', '.join('?' * 18)})"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    decode = json.JSONDecoder().decode
    count = 0
    with measure() as m, open(corpus_path, "rb") as fh:
        while lines := list(islice(fh, FLOOR_BATCH)):
            rows = [_floor_row(decode(line.decode("utf-8")), now) for line in lines]
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            count += len(rows)
    conn.close()
    size = file_size_mb(db)
    remove_database(db)
    return {
        "papers": count,
        "wall_s": round(m.wall, 3),
        "papers_per_s": round(count / m.wall, 1),
        "db_mb": round(size, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def rss_worker(repeats: int, database: str) -> dict[str, Any]:
    """parse_arxiv_rss + upsert of the fixture into an empty catalog, then again (the replay)."""
    from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
    from storage.catalog import SqlCatalog

    data = RSS_FIXTURE.read_bytes()
    db = Path(database)
    runs: list[dict[str, Any]] = []
    for _ in range(repeats):
        engine = _fresh_sqlite(db)
        catalog = SqlCatalog(engine)
        with measure() as parse_first:
            parsed = parse_arxiv_rss(data, source="arxiv-rss")
        with measure() as store_first:
            first = catalog.upsert(parsed.papers)
        with measure() as replay:
            again = parse_arxiv_rss(data, source="arxiv-rss")
            second = catalog.upsert(again.papers)
        engine.dispose()
        entries = len(parsed.papers)
        runs.append(
            {
                "entries": entries,
                "skipped": len(parsed.skipped),
                "parse_s": parse_first.wall,
                "store_s": store_first.wall,
                "empty_s": parse_first.wall + store_first.wall,
                "replay_s": replay.wall,
                "first": {"new": first.new, "updated": first.updated},
                "replay": {
                    "new": second.new,
                    "updated": second.updated,
                    "unchanged": second.unchanged,
                },
            }
        )
    remove_database(db)
    entries = runs[0]["entries"]

    def rates(key: str) -> dict[str, float]:
        times = [r[key] for r in runs]
        return {
            "best_entries_per_s": round(entries / min(times), 1),
            "median_entries_per_s": round(entries / statistics.median(times), 1),
            "best_s": round(min(times), 4),
        }

    return {
        "entries": entries,
        "repeats": repeats,
        "into_empty": rates("empty_s"),
        "parse_only": rates("parse_s"),
        "upsert_only": rates("store_s"),
        "replay_unchanged": rates("replay_s"),
        "first_counts": runs[0]["first"],
        "replay_counts": runs[0]["replay"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def postgres_import_worker(corpus_path: str, url: str) -> dict[str, Any]:
    """import_file into a schema of its own on PostgreSQL, created here and dropped after."""
    from sqlalchemy import text

    from bot.ingest.importer import import_file
    from storage.catalog import SqlCatalog
    from storage.db import create_db_engine
    from storage.migrate import upgrade

    schema = f"paperbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_db_engine(url, schema=schema)
        upgrade(engine)
        catalog = SqlCatalog(engine)
        rss_before = rss_mb()
        with measure() as m:
            run = import_file(catalog, Path(corpus_path))
        peak = peak_rss_mb()
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
            size = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": schema},
            ).scalar_one()
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return {
        "papers": run.fetched,
        "stored": stored,
        "new": run.new,
        "wall_s": round(m.wall, 3),
        "cpu_s": round(m.cpu, 3),
        "papers_per_s": round(run.fetched / m.wall, 1),
        "db_mb": round(int(size) / 1e6, 1),
        "rss_before_import_mb": None if rss_before is None else round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
    }


# -- benchmarks (run from python -m benchmarks) ----------------------------------------------------


def _label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def bench_sqlite_import(options: Options) -> dict[str, Any]:
    """Bulk JSONL import into SQLite, full-text index included (papers/s), with its baselines."""
    sizes = sorted(options.sizes)
    corpora = {n: corpus_file(n, options.seed) for n in sizes}
    results: list[dict[str, Any]] = []
    for n in sizes:
        db = DATA_DIR / f"bench-import-{_label(n)}.db"
        print(f"  import {_label(n)} ...", flush=True)
        ours = run_isolated(
            "benchmarks.bench_import:sqlite_import_worker",
            corpus_path=str(corpora[n]),
            database=str(db),
        )
        if not options.keep_data:
            remove_database(db)
        print(f"  floor {_label(n)} ...", flush=True)
        floor = run_isolated(
            "benchmarks.bench_import:floor_worker",
            corpus_path=str(corpora[n]),
            database=str(DATA_DIR / f"bench-floor-{_label(n)}.db"),
        )
        if ours["stored"] != n or ours["fts_indexed"] != n:
            raise RuntimeError(f"import of {n} papers stored {ours['stored']}: {ours}")
        results.append({"size": n, "ours": ours, "floor": floor})

    print(f"  naive baseline ({options.naive_papers:,} papers, one transaction each) ...")
    naive = run_isolated(
        "benchmarks.bench_import:naive_import_worker",
        corpus_path=str(corpora[sizes[0]]),
        database=str(DATA_DIR / "bench-naive.db"),
        papers=options.naive_papers,
    )
    rows = []
    for r in results:
        ours, floor = r["ours"], r["floor"]
        r["ours_vs_naive"] = ratio(ours["papers_per_s"], naive["papers_per_s"])
        r["ours_vs_floor"] = ratio(ours["papers_per_s"], floor["papers_per_s"])
        rows.append(
            {
                "size": _label(r["size"]),
                "rate": fmt_rate(ours["papers_per_s"]),
                "wall": f"{ours['wall_s']:.1f}s",
                "cpu": f"{ours['cpu_us_per_paper']:.0f}us",
                "writer": f"{ours['writer_cpu_us_per_paper']:.0f}us",
                "load": "/".join(
                    f"{x:.1f}" for x in ours["load_1min_before_after"] if x is not None
                ),
                "db": f"{ours['db_mb']:,.0f} MB",
                "peak": f"{ours['peak_rss_mb']:.0f} MB",
                "naive": fmt_rate(naive["papers_per_s"]),
                "vs_naive": fmt_ratio(r["ours_vs_naive"]),
                "floor": fmt_rate(floor["papers_per_s"]),
                "vs_floor": fmt_ratio(r["ours_vs_floor"]),
            }
        )
    print()
    print("Bulk JSONL import into SQLite, search index included (papers/s)")
    print_table(
        rows,
        [
            ("size", "papers"),
            ("rate", "papers/s"),
            ("wall", "wall"),
            ("cpu", "CPU/paper"),
            ("writer", "of which writer"),
            ("db", "database"),
            ("peak", "peak RSS"),
            ("naive", "naive"),
            ("vs_naive", "ours/naive"),
            ("floor", "raw floor"),
            ("vs_floor", "ours/floor"),
            ("load", "load (1 min)"),
        ],
    )
    slowest = min(r["ours"]["papers_per_s"] for r in results)
    peaks = [r["ours"]["peak_rss_mb"] for r in results]
    print(
        f"  slowest size {slowest:,.0f} papers/s (target {TARGET_PAPERS_PER_SECOND:,}); "
        f"peak RSS {min(peaks):.0f}-{max(peaks):.0f} MB across sizes"
    )
    return {
        "description": "bot.ingest.importer.import_file of a synthetic arXiv snapshot into a "
        "fresh migrated SQLite file (FTS5 index maintained), one subprocess per size",
        "seed": options.seed,
        "target_papers_per_s": TARGET_PAPERS_PER_SECOND,
        "sizes": results,
        "naive": naive,
    }


def bench_rss_ingest(options: Options) -> dict[str, Any]:
    """parse_arxiv_rss + upsert of the 1,504-item fixture: into an empty catalog, then replayed."""
    result = run_isolated(
        "benchmarks.bench_import:rss_worker",
        repeats=options.rss_repeats,
        database=str(DATA_DIR / "bench-rss.db"),
    )
    print()
    entries, repeats = result["entries"], options.rss_repeats
    print(f"RSS ingest of the {entries:,}-item fixture (entries/s, best of {repeats})")
    rows = [
        {"case": case, **result[key]}
        for case, key in (
            ("into an empty catalog", "into_empty"),
            ("  of which parse", "parse_only"),
            ("  of which upsert", "upsert_only"),
            ("replay (all unchanged)", "replay_unchanged"),
        )
    ]
    print_table(
        [
            {
                "case": r["case"],
                "best": fmt_rate(r["best_entries_per_s"]),
                "median": fmt_rate(r["median_entries_per_s"]),
                "time": f"{r['best_s'] * 1000:.0f} ms",
            }
            for r in rows
        ],
        [("case", "case"), ("best", "best"), ("median", "median"), ("time", "best time")],
    )
    print(f"  first run {result['first_counts']}; replay {result['replay_counts']}")
    return {"description": "parse_arxiv_rss + SqlCatalog.upsert on SQLite", **result}


def _postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers, else why not."""
    from sqlalchemy import text

    from storage.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def bench_postgres_import(options: Options) -> dict[str, Any]:
    """The same bulk JSONL import into PostgreSQL (tsvector column + GIN index maintained)."""
    problem = _postgres_reachable(options.postgres_url)
    if problem:
        print(f"  PostgreSQL at {options.postgres_url} unreachable, skipped: {problem}")
        return {"skipped": problem, "url": options.postgres_url}
    sizes = sorted(options.pg_sizes)
    results: list[dict[str, Any]] = []
    for n in sizes:
        path = corpus_file(n, options.seed)
        print(f"  import {_label(n)} into PostgreSQL ...", flush=True)
        try:
            ours = run_isolated(
                "benchmarks.bench_import:postgres_import_worker",
                corpus_path=str(path),
                url=options.postgres_url,
            )
        except IsolatedRunError as exc:
            results.append({"size": n, "error": str(exc)})
            continue
        results.append({"size": n, "ours": ours})
    print()
    print("Bulk JSONL import into PostgreSQL, search index included (papers/s)")
    print_table(
        [
            {
                "size": _label(r["size"]),
                "rate": fmt_rate(r["ours"]["papers_per_s"]) if "ours" in r else r["error"],
                "wall": f"{r['ours']['wall_s']:.1f}s" if "ours" in r else "",
                "db": f"{r['ours']['db_mb']:,.0f} MB" if "ours" in r else "",
                "peak": f"{r['ours']['peak_rss_mb']:.0f} MB" if "ours" in r else "",
            }
            for r in results
        ],
        [
            ("size", "papers"),
            ("rate", "papers/s"),
            ("wall", "wall"),
            ("db", "tables+indexes"),
            ("peak", "peak RSS"),
        ],
    )
    return {
        "description": "import_file into PostgreSQL, in a schema created and dropped per size",
        "url": options.postgres_url,
        "sizes": results,
    }
