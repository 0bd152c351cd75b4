"""``python -m benchmarks [--only NAME ...] [--sizes ...] [--quick]`` (``make bench``).

Each benchmark prints its table (with its baselines and ratios, measured in the same run) and
writes ``benchmarks/results/<name>-<UTC timestamp>.json`` and ``<name>-latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.bench_import import Options
from benchmarks.common import DATA_DIR, write_results

# name -> (module, function, what it measures). Functions take Options and return the payload.
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "corpus": (
        "benchmarks.corpus",
        "bench_corpus",
        "synthetic corpus generator (records/s)",
    ),
    "import-sqlite": (
        "benchmarks.bench_import",
        "bench_sqlite_import",
        "bulk JSONL import into SQLite, search index included (papers/s)",
    ),
    "rss-ingest": (
        "benchmarks.bench_import",
        "bench_rss_ingest",
        "RSS ingest of the 1,504-item fixture, fresh and replayed (entries/s)",
    ),
    "import-postgres": (
        "benchmarks.bench_import",
        "bench_postgres_import",
        "bulk JSONL import into PostgreSQL, search index included (papers/s)",
    ),
    "search": ("benchmarks.bench_search", "bench_search", "query-mix latency p50/p95/p99 (ms)"),
    "topics": (
        "benchmarks.bench_topics",
        "bench_topics",
        "topic percolator vs brute force (papers/s); building 10k digests (s)",
    ),
}


def parse_size(text: str) -> int:
    """``20000``, ``20k``, ``2.5m``."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    try:
        value = round(float(text) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="paperbot benchmarks; JSON results under benchmarks/results/.",
        epilog="benchmarks: "
        + "; ".join(f"{name}: {about}" for name, (_, _, about) in BENCHMARKS.items()),
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        help="corpus sizes for the SQLite import (default 20k 100k 500k; --quick 20k 50k)",
    )
    parser.add_argument(
        "--pg-sizes",
        nargs="+",
        type=parse_size,
        help="corpus sizes for the PostgreSQL import (default 20k 100k; --quick 20k)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--postgres-url", help="PostgreSQL URL (default: the test database)")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the benchmark databases under benchmarks/data/ (corpora are always kept)",
    )
    args = parser.parse_args(argv)

    options = Options.quick() if args.quick else Options()
    if args.sizes:
        options.sizes = args.sizes
    if args.pg_sizes:
        options.pg_sizes = args.pg_sizes
    options.seed = args.seed
    options.keep_data = args.keep_data
    if args.postgres_url:
        options.postgres_url = args.postgres_url
    DATA_DIR.mkdir(parents=True, exist_ok=True)

    names = args.only or list(BENCHMARKS)
    failed = []
    started = time.perf_counter()
    for name in names:
        module, function, about = BENCHMARKS[name]
        print(f"== {name}: {about}", flush=True)
        bench: Callable[[Options], dict[str, Any]] = getattr(
            importlib.import_module(module), function
        )
        t0 = time.perf_counter()
        try:
            payload = bench(options)
        except Exception as exc:
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        payload = {"options": _options_json(options), **payload}
        path = write_results(name, payload)
        load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
        print(
            f"   {time.perf_counter() - t0:.0f}s, load average {load} (1/5/15 min); "
            f"results in {path}\n",
            flush=True,
        )
    print(f"done in {time.perf_counter() - started:.0f}s")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _options_json(options: Options) -> dict[str, Any]:
    return {
        "sizes": list(options.sizes),
        "pg_sizes": list(options.pg_sizes),
        "naive_papers": options.naive_papers,
        "rss_repeats": options.rss_repeats,
        "seed": options.seed,
    }


if __name__ == "__main__":
    raise SystemExit(main())
