"""Search benchmark: latency of a fixed query mix on a synthetic catalog, with two baselines.

A SQLite catalog of N synthetic papers (``benchmarks.corpus``) is built by the normal bulk import
(``bot.ingest.importer.import_file``, full-text index included) once per size, seed and generator
version, and kept under ``benchmarks/data/``. A fixed query mix is drawn from the catalog's own
vocabulary with a seeded RNG (~30 queries per class) and each query runs once through the real
path: ``bot.domain.search.search_papers`` (page size 10) on ``storage.search.SqlSearch``, and
``similar_papers`` for similar-to. Baselines, in the same run, on a sample of the queries: a
``LIKE '%word%'`` scan over title || abstract (ORDER BY published DESC LIMIT 10), and a linear
scan in Python that scores every paper held in memory (arxiv-sanity-lite style: idf-weighted
substring counts over title and abstract; only the per-query scoring is timed). The same mix then
runs through ``storage.fulltext.TantivySearch`` on a tantivy index built from the same catalog
(build time and size reported), and PostgreSQL runs it on a catalog imported into a schema of its
own, with tsvector and with a tantivy index built from that schema. docs/search-benchmark.md has
the method and the figures.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.bench_import import (
    DEFAULT_PG_SIZES,
    DEFAULT_SIZES,
    QUICK_PG_SIZES,
    QUICK_SIZES,
    Options,
    _generator_fingerprint,
    _label,
    _postgres_reachable,
    corpus_file,
    sqlite_import_worker,
)
from benchmarks.common import (
    DATA_DIR,
    IsolatedRunError,
    fmt_ratio,
    measure,
    peak_rss_mb,
    print_table,
    ratio,
    remove_database,
    run_isolated,
)

SEARCH_SIZES = (100_000,)
QUICK_SEARCH_SIZES = (20_000,)
PG_SEARCH_SIZES = (100_000,)
PER_CLASS = 30
QUICK_PER_CLASS = 10
BASELINE_PER_CLASS = 3  # queries per class run through the two (slow) baselines
QUICK_BASELINE_PER_CLASS = 2
PAGE_SIZE = 10
VOCAB_SAMPLE = 20_000  # papers whose words give the document frequencies the mix is drawn by
TODAY = date(2026, 11, 28)  # fixed, so relative dates never enter the mix
CLASSES = (
    "rare",
    "mid",
    "common",
    "stopwords",
    "phrase",
    "prefix",
    "author",
    "cat_since",
    "similar",
)
TARGETS = {"p50_ms": 10.0, "p99_ms": 100.0, "vs_linear_p50": 50.0, "build_s": 600.0}
_WORD = re.compile(r"[a-z]+")
_STOP_TEMPLATES = (
    "what is the {w} of the",
    "how can we use {w} in the",
    "on the {w} and its",
    "is there a {w} for all of these",
    "the {w} of a",
    "why do we need {w} at all",
)
_CATEGORIES_SQL = (
    "SELECT p.id, group_concat(c.category, ' ') FROM papers p "
    "JOIN paper_categories c ON c.paper_id = p.id GROUP BY p.id"
)


# -- building the catalog --------------------------------------------------------------------------


def _db_path(n: int, seed: int) -> Path:
    return DATA_DIR / f"search-{_label(n)}-seed{seed}-{_generator_fingerprint()}.db"


def build_worker(n: int, seed: int) -> dict[str, Any]:
    """The SQLite catalog of ``n`` synthetic papers, built once per size+seed+generator."""
    db = _db_path(n, seed)
    marker = db.with_name(db.name + ".build.json")
    if db.exists() and marker.exists():
        build: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        # A catalog kept from an older schema is migrated in place (not counted as build time).
        from storage.db import create_db_engine
        from storage.migrate import upgrade

        engine = create_db_engine(f"sqlite:///{db}")
        with measure() as m:
            upgrade(engine)
        engine.dispose()
        return {**build, "reused": True, "migrate_s": round(m.wall, 1), "database": str(db)}
    for stale in DATA_DIR.glob(f"search-{_label(n)}-seed{seed}-*.db*"):
        stale.unlink()
    path = corpus_file(n, seed)
    remove_database(db)
    print(f"  import {_label(n)} into {db.name} ...", flush=True)
    build = sqlite_import_worker(str(path), str(db))
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    marker.write_text(json.dumps(build), encoding="utf-8")
    return {**build, "reused": False, "database": str(db)}


def _index_path(db: Path) -> Path:
    """The tantivy index of a benchmark catalog, beside it (as the application places it)."""
    return db.with_name(db.stem + ".search")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def _dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def tantivy_index_worker(database: str) -> dict[str, Any]:
    """The tantivy index of a catalog, built once per catalog (storage.fulltext.build_index,
    the path `paperbot db search-index` takes); reused while it matches the catalog."""
    from storage.db import create_db_engine
    from storage.fulltext import build_index, index_status

    db = Path(database)
    path = _index_path(db)
    marker = path.with_name(path.name + ".build.json")
    engine = create_db_engine(f"sqlite:///{db}")
    try:
        state, reason, _ = index_status(engine, path)
        if state == "ok" and marker.exists():
            build: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
            return {**build, "reused": True, "index": str(path)}
        print(f"  tantivy index of {db.name} ({reason}) ...", flush=True)
        load_before = _load()
        with measure() as m:
            meta = build_index(engine, path)
        build = {
            "papers": meta.papers,
            "wall_s": round(m.wall, 1),
            "cpu_s": round(m.cpu, 1),
            "index_mb": _dir_mb(path),
            "load_before": load_before,
            "load_after": _load(),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    finally:
        engine.dispose()
    marker.write_text(json.dumps(build), encoding="utf-8")
    return {**build, "reused": False, "index": str(path)}


def _fts_bytes(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'papers_fts%'"
        ).fetchone()
    except sqlite3.OperationalError:  # no dbstat in this SQLite
        return 0
    return int(row[0])


# -- the query mix ---------------------------------------------------------------------------------


class Texts:
    """Every paper's text, lower-cased, in memory (the linear baseline's data)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT id, arxiv_id, lower(title), lower(abstract), authors_folded, "
            "coalesce(published, updated, added_at) FROM papers ORDER BY id"
        ).fetchall()
        cats = dict(conn.execute(_CATEGORIES_SQL).fetchall())
        self.ids = [r[0] for r in rows]
        self.arxiv_ids = [r[1] for r in rows]
        self.titles = [r[2] for r in rows]
        self.abstracts = [r[3] for r in rows]
        self.authors = [r[4] for r in rows]
        self.days = [str(r[5])[:10] for r in rows]
        self.categories = [cats.get(r[0], "") for r in rows]


def draw_mix(texts: Texts, seed: int, per_class: int) -> list[dict[str, Any]]:
    """The fixed query mix: ``per_class`` queries of each class, drawn from the catalog's words."""
    from bot.domain.query import STOPWORDS

    rng = random.Random(f"search-mix-{seed}")
    n = len(texts.ids)
    sample = rng.sample(range(n), min(n, VOCAB_SAMPLE))
    df: Counter[str] = Counter()
    for i in sample:
        df.update(set(_WORD.findall(texts.titles[i] + " " + texts.abstracts[i])))
    size = len(sample)

    def band(low: float, high: float, min_docs: int = 1) -> list[str]:
        words = [
            w
            for w, c in df.items()
            if low <= c / size <= high
            and c >= min_docs
            and len(w) >= 4
            and w not in STOPWORDS
            and w not in ("and", "or", "not")
        ]
        return sorted(words)

    rare = band(0.0, 0.0003, min_docs=2)  # 2-6 of 20k sampled papers: ~0.01-0.03%
    mid = band(0.005, 0.03)
    common = band(0.10, 0.60)
    queries: list[dict[str, Any]] = []

    def add(cls: str, text: str, **extra: Any) -> None:
        queries.append({"class": cls, "text": text, **extra})

    for _ in range(per_class):
        add("rare", rng.choice(rare))
    for i in range(per_class):
        add("mid", rng.choice(mid) if i % 2 == 0 else f"{rng.choice(mid)} {rng.choice(mid)}")
    for i in range(per_class):
        words = rng.sample(common, 1 if i % 2 == 0 else 2)
        add("common", " ".join(words))
    for i in range(per_class):
        template = _STOP_TEMPLATES[i % len(_STOP_TEMPLATES)]
        add("stopwords", template.format(w=rng.choice(mid if i % 2 == 0 else common)))
    while sum(q["class"] == "phrase" for q in queries) < per_class:
        words = _WORD.findall(texts.abstracts[rng.randrange(n)])
        pairs = [
            (a, b)
            for a, b in pairwise(words)
            if len(a) >= 3 and len(b) >= 3 and a not in STOPWORDS and b not in STOPWORDS
        ]
        if pairs:
            a, b = rng.choice(pairs)
            add("phrase", f'"{a} {b}"')
    for i in range(per_class):
        source = mid if i % 2 == 0 else common
        add("prefix", rng.choice(source)[:3] + "*")
    while sum(q["class"] == "author" for q in queries) < per_class:
        names = texts.authors[rng.randrange(n)].split(",")
        surname = _WORD.findall(rng.choice(names).lower())
        if surname and len(surname[-1]) >= 3:
            add("author", f"author:{surname[-1]}")
    for i in range(per_class):
        cats = texts.categories[rng.randrange(n)].split()
        year = rng.randint(2016, 2026)
        since = f"since:{year}-{rng.randint(1, 12):02d}-01"
        text = f"cat:{cats[0]} {since}"
        if i % 2 == 1:
            text += f" {rng.choice(mid)}"
        add("cat_since", text)
    for _ in range(per_class):
        add("similar", texts.arxiv_ids[rng.randrange(n)])
    return queries


# -- running the mix -------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarise(times_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(times_ms),
        "p50_ms": round(_percentile(times_ms, 0.50), 2),
        "p95_ms": round(_percentile(times_ms, 0.95), 2),
        "p99_ms": round(_percentile(times_ms, 0.99), 2),
        "max_ms": round(max(times_ms), 2),
    }


def run_mix(
    engine: Any, mix: Sequence[dict[str, Any]], backend: Any = None
) -> list[dict[str, Any]]:
    """Each query once through the real path; its wall time, total and whether it was capped.
    ``backend``: the SearchBackend (default: the database's, SqlSearch)."""
    from bot.domain.query import QueryError
    from bot.domain.search import search_papers, similar_papers
    from storage.catalog import SqlCatalog
    from storage.search import SqlSearch

    backend = backend if backend is not None else SqlSearch(engine)
    catalog = SqlCatalog(engine)
    out = []
    for q in mix:
        error = None
        total: int | None = None
        capped = False
        t0 = time.perf_counter()
        try:
            if q["class"] == "similar":
                found = similar_papers(backend, catalog, q["text"], limit=PAGE_SIZE)
                total = len(found.hits)
            else:
                page = search_papers(backend, q["text"], page_size=PAGE_SIZE, today=TODAY)
                total, capped = page.total, page.capped
        except QueryError as exc:
            error = str(exc)
        ms = (time.perf_counter() - t0) * 1000
        out.append({**q, "ms": round(ms, 3), "total": total, "capped": capped, "error": error})
    return out


def per_class(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for cls in (*CLASSES, "overall"):
        rows = [r for r in results if cls in ("overall", r["class"])]
        if not rows:
            continue
        totals = [r["total"] for r in rows if r["total"] is not None]
        table[cls] = {
            **summarise([r["ms"] for r in rows]),
            "median_total": statistics.median(totals) if totals else None,
            "capped": sum(r["capped"] for r in rows),
            "errors": sum(r["error"] is not None for r in rows),
        }
    return table


# -- baselines -------------------------------------------------------------------------------------


def _plain_words(text: str) -> list[str]:
    from bot.domain.query import STOPWORDS

    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return words or _WORD.findall(text.lower())


def _baseline_terms(q: dict[str, Any], texts: Texts, index: dict[str, int]) -> dict[str, Any]:
    """What the baselines look for: substrings (a phrase kept whole), author words, filters."""
    text, cls = q["text"], q["class"]
    spec: dict[str, Any] = {"terms": [], "author": [], "cat": None, "since": None}
    if cls == "phrase":
        spec["terms"] = [text.strip('"')]
    elif cls == "prefix":
        spec["terms"] = [text.rstrip("*")]
    elif cls == "author":
        spec["author"] = [text.split(":", 1)[1]]
    elif cls == "cat_since":
        parts = text.split()
        spec["cat"] = parts[0].split(":", 1)[1]
        spec["since"] = parts[1].split(":", 1)[1]
        spec["terms"] = parts[2:]
    elif cls == "similar":
        i = index[text]
        spec["terms"] = [w for w in _plain_words(texts.titles[i]) if len(w) >= 3][:6]
    else:
        spec["terms"] = _plain_words(text)
    return spec


def like_query(conn: sqlite3.Connection, spec: dict[str, Any]) -> int:
    """LIKE '%word%' for every word over title || abstract, newest 10 by published."""
    where, args = [], []
    for term in spec["terms"]:
        where.append("(title || ' ' || abstract) LIKE ?")
        args.append(f"%{term}%")
    for word in spec["author"]:
        where.append("authors_folded LIKE ?")
        args.append(f"%{word}%")
    if spec["cat"]:
        where.append("id IN (SELECT paper_id FROM paper_categories WHERE category = ?)")
        args.append(spec["cat"])
    if spec["since"]:
        where.append("published >= ?")
        args.append(spec["since"])
    sql = (
        "SELECT id FROM papers WHERE "
        + (" AND ".join(where) or "1")
        + " ORDER BY published DESC LIMIT 10"
    )
    return len(conn.execute(sql, args).fetchall())


def linear_query(texts: Texts, spec: dict[str, Any]) -> list[int]:
    """Score every paper in memory: idf-weighted substring counts, title x3 (arxiv-sanity-lite)."""
    terms, authors = spec["terms"], spec["author"]
    cat, since = spec["cat"], spec["since"]
    titles, abstracts, names = texts.titles, texts.abstracts, texts.authors
    categories, days = texts.categories, texts.days
    counts: list[tuple[int, list[int]]] = []
    df = [0] * len(terms)
    for i in range(len(titles)):
        if cat is not None and cat not in categories[i]:
            continue
        if since is not None and days[i] < since:
            continue
        if authors and not all(a in names[i] for a in authors):
            continue
        title, abstract = titles[i], abstracts[i]
        row = [3 * min(3, title.count(t)) + min(3, abstract.count(t)) for t in terms]
        if terms and not any(row):
            continue
        for j, c in enumerate(row):
            if c:
                df[j] += 1
        counts.append((i, row))
    n = len(titles)
    idf = [math.log((n - d + 0.5) / (d + 0.5) + 1.0) for d in df]
    scored = [(sum(c * w for c, w in zip(row, idf, strict=True)), i) for i, row in counts]
    scored.sort(reverse=True)
    return [i for _, i in scored[:PAGE_SIZE]]


def run_baselines(db: Path, texts: Texts, sample: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    index = {a: i for i, a in enumerate(texts.arxiv_ids)}
    out = []
    try:
        for q in sample:
            spec = _baseline_terms(q, texts, index)
            like_ms = _timed(lambda spec=spec: like_query(conn, spec))
            linear_ms = _timed(lambda spec=spec: linear_query(texts, spec))
            out.append(
                {
                    "class": q["class"],
                    "text": q["text"],
                    "like_ms": round(like_ms, 2),
                    "linear_ms": round(linear_ms, 2),
                }
            )
    finally:
        conn.close()
    return out


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


# -- workers ---------------------------------------------------------------------------------------


def sqlite_search_worker(
    database: str, seed: int, per_class_n: int, baseline_per_class: int
) -> dict[str, Any]:
    from storage.db import create_db_engine

    db = Path(database)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with measure() as load:
        texts = Texts(conn)
    conn.close()
    print(f"  loaded {len(texts.ids):,} papers' text in {load.wall:.1f}s", flush=True)
    mix = draw_mix(texts, seed, per_class_n)
    warmup = draw_mix(texts, seed + 1_000_003, 2)
    engine = create_db_engine(f"sqlite:///{db}")
    run_mix(engine, warmup)  # page cache and connection pool; the mix's own queries stay cold
    print(f"  running {len(mix)} queries ...", flush=True)
    load_before = _load()
    results = run_mix(engine, mix)
    load_after = _load()
    engine.dispose()
    sample = [
        q for cls in CLASSES for q in [r for r in mix if r["class"] == cls][:baseline_per_class]
    ]
    print(f"  baselines on {len(sample)} queries ...", flush=True)
    baselines = run_baselines(db, texts, sample)
    fts = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    fts_mb = round(_fts_bytes(fts) / 1e6, 1)
    fts.close()
    return {
        "papers": len(texts.ids),
        "db_mb": round(db.stat().st_size / 1e6, 1),
        "fts_mb": fts_mb,
        "warmup": warmup,
        "text_load_s": round(load.wall, 2),
        "load_before": load_before,
        "load_after": load_after,
        "queries": results,
        "baseline_runs": baselines,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def tantivy_search_worker(
    database: str,
    index: str,
    mix: list[dict[str, Any]],
    warmup: list[dict[str, Any]],
    schema: str | None = None,
) -> dict[str, Any]:
    """The mix through TantivySearch (tantivy ranks, the database loads the page's papers)."""
    from storage.db import create_db_engine
    from storage.fulltext import TantivySearch

    engine = create_db_engine(database, schema=schema)
    backend = TantivySearch(engine, Path(index), check_every=3600.0)
    usable, why = backend.status()
    if not usable:
        raise RuntimeError(f"tantivy index unusable: {why}")
    run_mix(engine, warmup, backend)
    print(f"  running {len(mix)} queries on tantivy ...", flush=True)
    load_before = _load()
    results = run_mix(engine, mix, backend)
    load_after = _load()
    usable_after, why_after = backend.status()
    engine.dispose()
    if not usable_after:
        raise RuntimeError(f"tantivy index fell back to the database: {why_after}")
    return {
        "queries": results,
        "load_before": load_before,
        "load_after": load_after,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def postgres_search_worker(
    corpus_path: str,
    url: str,
    mix: list[dict[str, Any]],
    warmup: list[dict[str, Any]],
    keep: bool,
) -> dict[str, Any]:
    """Import the corpus into a schema of its own, run the same mix, drop the schema."""
    from sqlalchemy import text

    from bot.ingest.importer import import_file
    from storage.catalog import SqlCatalog
    from storage.db import create_db_engine
    from storage.migrate import upgrade

    schema = f"paperbot_bench_search_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_db_engine(url, schema=schema)
        upgrade(engine)
        print("  import into PostgreSQL ...", flush=True)
        with measure() as m:
            run = import_file(SqlCatalog(engine), Path(corpus_path))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            size = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": schema},
            ).scalar_one()
            gin = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a "
                    "ON a.oid = c.relam WHERE n.nspname = :schema AND a.amname = 'gin'"
                ),
                {"schema": schema},
            ).scalar_one()
        run_mix(engine, warmup)
        print(f"  running {len(mix)} queries on PostgreSQL ...", flush=True)
        load_before = _load()
        results = run_mix(engine, mix)
        load_after = _load()
        engine.dispose()
        tantivy = _postgres_tantivy(url, schema, mix, warmup, keep)
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return {
        "papers": run.fetched,
        "build_s": round(m.wall, 1),
        "db_mb": round(int(size) / 1e6, 1),
        "gin_mb": round(int(gin) / 1e6, 1),
        "queries": results,
        "load_before": load_before,
        "load_after": load_after,
        "schema_kept": schema if keep else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tantivy": tantivy,
    }


def _postgres_tantivy(
    url: str,
    schema: str,
    mix: list[dict[str, Any]],
    warmup: list[dict[str, Any]],
    keep: bool,
) -> dict[str, Any]:
    """A tantivy index built from the PostgreSQL schema, and the same mix through it."""
    from storage.db import create_db_engine
    from storage.fulltext import build_index

    path = DATA_DIR / f"{schema}.search"
    engine = create_db_engine(url, schema=schema)
    try:
        print("  tantivy index of the PostgreSQL catalog ...", flush=True)
        with measure() as m:
            build_index(engine, path)
        engine.dispose()
        size = _dir_mb(path)
        run = tantivy_search_worker(url, str(path), mix, warmup, schema=schema)
    finally:
        engine.dispose()
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
            path.with_name(path.name + ".lock").unlink(missing_ok=True)
    return {"build_s": round(m.wall, 1), "build_cpu_s": round(m.cpu, 1), "index_mb": size, **run}


# -- the benchmark ---------------------------------------------------------------------------------


def _sizes(options: Options) -> tuple[list[int], list[int], int, int]:
    quick = options.sizes is QUICK_SIZES or options.naive_papers < 2_000
    if options.sizes is DEFAULT_SIZES or options.sizes is QUICK_SIZES:
        sizes = list(QUICK_SEARCH_SIZES if quick else SEARCH_SIZES)
    else:
        sizes = sorted(options.sizes)
    if options.pg_sizes is DEFAULT_PG_SIZES or options.pg_sizes is QUICK_PG_SIZES:
        pg_sizes = [min(sizes)] if quick else list(PG_SEARCH_SIZES)
    else:
        pg_sizes = sorted(options.pg_sizes)
    per = QUICK_PER_CLASS if quick else PER_CLASS
    base = QUICK_BASELINE_PER_CLASS if quick else BASELINE_PER_CLASS
    return sizes, pg_sizes, per, base


def _class_rows(
    label: str, backend: str, table: dict[str, dict[str, Any]], base: dict[str, Any] | None
) -> list[dict[str, Any]]:
    rows = []
    for cls, s in table.items():
        b = (base or {}).get(cls, {})
        rows.append(
            {
                "size": label,
                "backend": backend,
                "class": cls,
                "n": s["n"],
                "p50": f"{s['p50_ms']:.1f}",
                "p95": f"{s['p95_ms']:.1f}",
                "p99": f"{s['p99_ms']:.1f}",
                "total": "" if s["median_total"] is None else f"{s['median_total']:,.0f}",
                "like": f"{b['like_p50_ms']:.0f}" if b else "",
                "linear": f"{b['linear_p50_ms']:.0f}" if b else "",
                "vs_like": fmt_ratio(b.get("like_vs_ours")) if b else "",
                "vs_linear": fmt_ratio(b.get("linear_vs_ours")) if b else "",
            }
        )
    return rows


def _baseline_table(
    baselines: Sequence[dict[str, Any]], table: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in (*CLASSES, "overall"):
        rows = [b for b in baselines if cls in ("overall", b["class"])]
        if not rows or cls not in table:
            continue
        like = statistics.median(b["like_ms"] for b in rows)
        linear = statistics.median(b["linear_ms"] for b in rows)
        ours = table[cls]["p50_ms"]
        out[cls] = {
            "n": len(rows),
            "like_p50_ms": round(like, 2),
            "linear_p50_ms": round(linear, 2),
            "like_vs_ours": ratio(like, ours),  # how many times faster ours is
            "linear_vs_ours": ratio(linear, ours),
        }
    return out


def bench_search(options: Options) -> dict[str, Any]:
    """Query-mix latency per class (p50/p95/p99) on SQLite and PostgreSQL, with baselines."""
    sizes, pg_sizes, per, base_per = _sizes(options)
    results: list[dict[str, Any]] = []
    tantivy_results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    mixes: dict[int, list[dict[str, Any]]] = {}
    warmups: dict[int, list[dict[str, Any]]] = {}
    for n in sizes:
        label = _label(n)
        print(f"  catalog {label} ...", flush=True)
        build = run_isolated("benchmarks.bench_search:build_worker", n=n, seed=options.seed)
        if build["stored"] != n or build["fts_indexed"] != n:
            raise RuntimeError(f"catalog of {n} papers holds {build['stored']}: {build}")
        print(f"  search {label} on SQLite ...", flush=True)
        ours = run_isolated(
            "benchmarks.bench_search:sqlite_search_worker",
            database=build["database"],
            seed=options.seed,
            per_class_n=per,
            baseline_per_class=base_per,
        )
        mixes[n] = [{"class": q["class"], "text": q["text"]} for q in ours["queries"]]
        warmups[n] = ours.pop("warmup")
        table = per_class(ours["queries"])
        baselines = _baseline_table(ours["baseline_runs"], table)
        result = {
            "size": n,
            "backend": "sqlite",
            "build": build,
            "classes": table,
            "baselines": baselines,
            **ours,
        }
        results.append(result)
        rows += _class_rows(label, "SQLite", table, baselines)
        print(f"  search {label} on tantivy ...", flush=True)
        index = run_isolated(
            "benchmarks.bench_search:tantivy_index_worker", database=build["database"]
        )
        tv = run_isolated(
            "benchmarks.bench_search:tantivy_search_worker",
            database=f"sqlite:///{build['database']}",
            index=index["index"],
            mix=mixes[n],
            warmup=warmups[n],
        )
        tv_table = per_class(tv["queries"])
        tv_baselines = _baseline_table(ours["baseline_runs"], tv_table)
        tantivy_results.append(
            {
                "size": n,
                "backend": "tantivy",
                "build": index,
                "classes": tv_table,
                "baselines": tv_baselines,
                **tv,
            }
        )
        rows += _class_rows(label, "tantivy", tv_table, tv_baselines)
    pg_results: list[dict[str, Any]] = []
    problem = _postgres_reachable(options.postgres_url) if pg_sizes else None
    if problem:
        print(f"  PostgreSQL at {options.postgres_url} unreachable, skipped: {problem}")
    for n in [] if problem else pg_sizes:
        label = _label(n)
        if n not in mixes:
            print(f"  PostgreSQL {label}: no SQLite run of that size to take the mix from")
            continue
        print(f"  search {label} on PostgreSQL ...", flush=True)
        try:
            pg = run_isolated(
                "benchmarks.bench_search:postgres_search_worker",
                corpus_path=str(corpus_file(n, options.seed)),
                url=options.postgres_url,
                mix=mixes[n],
                warmup=warmups[n],
                keep=options.keep_data,
            )
        except IsolatedRunError as exc:
            pg_results.append({"size": n, "backend": "postgresql", "error": str(exc)})
            continue
        table = per_class(pg["queries"])
        pg_tv = pg.get("tantivy") or {}
        if pg_tv.get("queries"):
            pg_tv["classes"] = per_class(pg_tv["queries"])
        pg_results.append({"size": n, "backend": "postgresql", "classes": table, **pg})
        rows += _class_rows(label, "PostgreSQL", table, None)
        if pg_tv.get("classes"):
            rows += _class_rows(label, "PG+tantivy", pg_tv["classes"], None)

    print()
    print(f"Search latency per query class (ms; page size {PAGE_SIZE}; baselines on a sample)")
    print_table(
        rows,
        [
            ("size", "papers"),
            ("backend", "backend"),
            ("class", "class"),
            ("n", "n"),
            ("p50", "p50"),
            ("p95", "p95"),
            ("p99", "p99"),
            ("total", "median total"),
            ("like", "LIKE p50"),
            ("linear", "linear p50"),
            ("vs_like", "LIKE/ours"),
            ("vs_linear", "linear/ours"),
        ],
    )
    print()
    for r in results:
        b, o = r["build"], r["classes"]["overall"]
        lin = r["baselines"].get("overall", {}).get("linear_vs_ours")
        print(
            f"  SQLite {_label(r['size'])}: build {b['wall_s']:.0f}s "
            f"({'reused' if b['reused'] else 'built now'}), database "
            f"{r['db_mb']:,.0f} MB of which FTS5 {r['fts_mb']:,.0f} MB; "
            f"overall p50 {o['p50_ms']:.1f} ms "
            f"(target {TARGETS['p50_ms']:.0f}), p99 {o['p99_ms']:.1f} ms "
            f"(target {TARGETS['p99_ms']:.0f}), linear/ours {fmt_ratio(lin)} "
            f"(target {TARGETS['vs_linear_p50']:.0f}x)"
        )
    for r in tantivy_results:
        b, o = r["build"], r["classes"]["overall"]
        lin = r["baselines"].get("overall", {}).get("linear_vs_ours")
        print(
            f"  tantivy {_label(r['size'])}: index build {b['wall_s']:.0f}s "
            f"({'reused' if b['reused'] else 'built now'}; {b['cpu_s']:.0f}s CPU), index "
            f"{b['index_mb']:,.0f} MB; overall p50 {o['p50_ms']:.1f} ms "
            f"(target {TARGETS['p50_ms']:.0f}), p99 {o['p99_ms']:.1f} ms "
            f"(target {TARGETS['p99_ms']:.0f}), linear/ours {fmt_ratio(lin)} "
            f"(target {TARGETS['vs_linear_p50']:.0f}x); load {r['load_before']} -> "
            f"{r['load_after']}"
        )
    for r in pg_results:
        if "error" in r:
            print(f"  PostgreSQL {_label(r['size'])}: {r['error']}")
            continue
        o = r["classes"]["overall"]
        print(
            f"  PostgreSQL {_label(r['size'])}: build {r['build_s']:.0f}s, tables+indexes "
            f"{r['db_mb']:,.0f} MB (GIN {r['gin_mb']:,.0f} MB); overall p50 "
            f"{o['p50_ms']:.1f} ms, p99 {o['p99_ms']:.1f} ms"
        )
        pg_tv = r.get("tantivy") or {}
        if pg_tv.get("classes"):
            o = pg_tv["classes"]["overall"]
            print(
                f"  PostgreSQL {_label(r['size'])} + tantivy: index build "
                f"{pg_tv['build_s']:.0f}s, index {pg_tv['index_mb']:,.0f} MB; overall p50 "
                f"{o['p50_ms']:.1f} ms, p99 {o['p99_ms']:.1f} ms"
            )
    return {
        "description": "fixed query mix through bot.domain.search.search_papers / similar_papers "
        "on storage.search.SqlSearch (FTS5, tsvector) and storage.fulltext.TantivySearch, one "
        "run per query, warm page cache; baselines LIKE and an in-memory linear scan on a "
        "sample of the mix",
        "seed": options.seed,
        "page_size": PAGE_SIZE,
        "per_class": per,
        "targets_at_1M": TARGETS,
        "sqlite": results,
        "tantivy": tantivy_results,
        "postgresql": pg_results,
    }
