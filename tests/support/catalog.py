"""Every catalog row of a database, for tests that compare two ways of storing the same papers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

CHILD_TABLES = ("paper_authors", "paper_categories", "paper_versions", "paper_sources")


def clear_catalog(engine: Engine) -> None:
    """Delete every paper (children first); ids start again from 1 on SQLite."""
    with engine.begin() as conn:
        for table in (*CHILD_TABLES, "papers"):
            conn.execute(text(f"DELETE FROM {table}"))


def dump_catalog(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of papers and its child tables, row ids replaced by paper keys (ids are the
    database's business: a PostgreSQL sequence does not start again after a delete)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, key FROM papers")).tuples().all())
        columns = [c for c in _columns(conn, "papers") if c not in ("id", "search_vector")]
        out["papers"] = sorted(
            tuple(row)
            for row in conn.execute(text(f"SELECT {', '.join(columns)} FROM papers")).tuples()
        )
        for table in CHILD_TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).tuples()
            out[table] = sorted((keys[row[0]], *row[1:]) for row in rows)
    return out


def _columns(conn: Any, table: str) -> list[str]:
    result = conn.execute(text(f"SELECT * FROM {table} WHERE 1 = 0"))
    return list(result.keys())
