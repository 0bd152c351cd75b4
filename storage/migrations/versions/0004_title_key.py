"""papers.title_key: the alias through which a record known only by title joins its paper.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5000


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def _title_key(title: str, first_author: str | None) -> str:
    # Frozen copy of bot.domain.papers.title_key as of this revision: a migration must not change
    # meaning when the application code moves on.
    name = (first_author or "").strip()
    family = name.split(",", 1)[0].strip() if "," in name else (name.split() or [""])[-1]
    normalised = re.sub(r"[^\w]+", " ", _fold(title)).strip()
    digest = hashlib.sha1(f"{normalised}|{_fold(family)}".encode()).hexdigest()
    return f"t:{digest[:16]}"


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding the table (batch mode) would break SQLite's FTS triggers.
    op.add_column("papers", sa.Column("title_key", sa.String(40)))
    op.create_index("ix_papers_title_key", "papers", ["title_key"])
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT p.id, p.title, a.name FROM papers p "
                "LEFT JOIN paper_authors a ON a.paper_id = p.id AND a.position = 0 "
                "WHERE p.id > :last ORDER BY p.id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            sa.text("UPDATE papers SET title_key = :k WHERE id = :i"),
            [{"k": _title_key(title, name), "i": pid} for pid, title, name in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_papers_title_key", table_name="papers")
    op.drop_column("papers", "title_key")
