"""What every benchmark shares: timing, peak memory, isolated runs, JSON results, ratios.

Peak memory is the process's resident high-water mark (``VmHWM`` in ``/proc/self/status``, else
``ru_maxrss``). Each measured size runs in a subprocess of its own (:func:`run_isolated`) so one
size's peak never shows up in another's; ``VmHWM`` belongs to the process's own address space, so
the parent's size does not leak into the child's figure either (``ru_maxrss`` can, across exec).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
RESULTS_DIR = BENCHMARKS / "results"
DATA_DIR = BENCHMARKS / "data"  # git-ignored: corpora and databases


@dataclass(slots=True)
class Measured:
    wall: float = 0.0  # seconds
    cpu: float = 0.0  # seconds of CPU, every thread of the process


@contextmanager
def measure() -> Iterator[Measured]:
    """Wall time and process CPU time of the block."""
    out = Measured()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield out
    finally:
        out.wall = time.perf_counter() - wall
        out.cpu = time.process_time() - cpu


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, list[float]]:
    """The fastest of ``repeats`` wall times of ``fn()``, and all of them."""
    times = []
    for _ in range(repeats):
        with measure() as m:
            fn()
        times.append(m.wall)
    return min(times), times


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Resident memory now, in MB (Linux only)."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: ru_maxrss is kB on Linux, bytes on macOS
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kb = maxrss // 1024 if sys.platform == "darwin" else maxrss
    return kb / 1024


def file_size_mb(path: Path) -> float:
    """Size of a SQLite database with its -wal and -shm files, in MB."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            total += p.stat().st_size
    return total / 1e6


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if not ours or not baseline:
        return None
    return ours / baseline


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_rate(value: float | None, unit: str = "/s") -> str:
    return "n/a" if value is None else f"{value:,.0f}{unit}"


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """A plain-text table: ``columns`` are (key, heading) pairs; values printed as given."""
    cells = [[str(row.get(key, "")) for key, _ in columns] for row in rows]
    widths = [
        max(len(heading), *(len(c[i]) for c in cells)) if cells else len(heading)
        for i, (_, heading) in enumerate(columns)
    ]
    print("  ".join(h.rjust(w) for (_, h), w in zip(columns, widths, strict=True)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Where the numbers were measured: they mean little without it."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    cpu_model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        # 1, 5 and 15 minute load averages when the results were written: on a shared machine
        # the 5 and 15 minute figures say how much else was running during the benchmark.
        "load_average_1_5_15": None if load is None else [round(x, 2) for x in load],
        "git_commit": _git_commit(),
    }


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_results(name: str, payload: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """``<name>-<UTC timestamp>.json`` and a stable ``<name>-latest.json`` with the same content."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp()
    document = {"benchmark": name, "finished_at": stamp, "environment": environment(), **payload}
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    path = directory / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (directory / f"{name}-latest.json").write_text(text, encoding="utf-8")
    return path


class IsolatedRunError(RuntimeError):
    pass


def run_isolated(target: str, timeout: float = 3600, **kwargs: Any) -> dict[str, Any]:
    """``module:function(**kwargs)`` in a fresh interpreter; its JSON-able result dict.

    The child's peak memory is its own; its output passes through so progress stays visible.
    """
    with tempfile.TemporaryDirectory(prefix="paperbot-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.common",
            "--call",
            target,
            "--kwargs",
            json.dumps(kwargs),
            "--out",
            str(out),
        ]
        proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, check=False)
        if proc.returncode != 0 or not out.exists():
            raise IsolatedRunError(f"{target} failed (exit status {proc.returncode})")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def _child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark function (internal).")
    parser.add_argument("--call", required=True, help="module:function")
    parser.add_argument("--kwargs", default="{}")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    module_name, _, function_name = args.call.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(args.kwargs))
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main())
