"""The catalog: papers, authors, categories, versions, sources, ingest runs, full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("arxiv_id", sa.String(40)),
        sa.Column("version", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors_text", sa.Text, nullable=False, server_default=""),
        sa.Column("authors_folded", sa.Text, nullable=False, server_default=""),
        sa.Column("affiliations_text", sa.Text, nullable=False, server_default=""),
        sa.Column("primary_category", sa.String(40)),
        sa.Column("published", UTCDateTime()),
        sa.Column("updated", UTCDateTime()),
        sa.Column("doi", sa.String(255)),
        sa.Column("journal_ref", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("pdf_url", sa.Text),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_papers_doi", "papers", ["doi"])
    op.create_index("ix_papers_published", "papers", ["published"])
    op.create_index("ix_papers_added_at", "papers", ["added_at"])
    op.create_index("ix_papers_primary_category", "papers", ["primary_category"])

    def child(name: str, *columns: sa.Column[Any]) -> None:
        op.create_table(
            name,
            sa.Column(
                "paper_id",
                sa.Integer,
                sa.ForeignKey("papers.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            *columns,
        )

    child(
        "paper_authors",
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_folded", sa.Text, nullable=False),
        sa.Column("surname_folded", sa.String(200), nullable=False),
        sa.Column("affiliations", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_paper_authors_surname", "paper_authors", ["surname_folded"])
    child(
        "paper_categories",
        sa.Column("category", sa.String(40), primary_key=True),
        sa.Column("archive", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_paper_categories_category", "paper_categories", ["category", "paper_id"]
    )
    op.create_index("ix_paper_categories_archive", "paper_categories", ["archive", "paper_id"])
    child(
        "paper_versions",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("submitted", UTCDateTime()),
    )
    child(
        "paper_sources",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_fetched_at", UTCDateTime()),
        sa.Column("last_status", sa.String(40)),
    )
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("new", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.Text),
    )
    op.create_index("ix_ingest_runs_source_started", "ingest_runs", ["source", "started_at"])

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fts()
    else:
        _postgres_fts()


def _sqlite_fts() -> None:
    # External-content FTS5 over papers, kept in step by triggers; porter stemming and
    # diacritics folding so "Hintón" and "models" match "hinton" and "model".
    op.execute(
        "CREATE VIRTUAL TABLE papers_fts USING fts5("
        "title, authors_folded, abstract, content='papers', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER papers_fts_ai AFTER INSERT ON papers BEGIN "
        "INSERT INTO papers_fts(rowid, title, authors_folded, abstract) "
        "VALUES (new.id, new.title, new.authors_folded, new.abstract); END"
    )
    op.execute(
        "CREATE TRIGGER papers_fts_ad AFTER DELETE ON papers BEGIN "
        "INSERT INTO papers_fts(papers_fts, rowid, title, authors_folded, abstract) "
        "VALUES ('delete', old.id, old.title, old.authors_folded, old.abstract); END"
    )
    op.execute(
        "CREATE TRIGGER papers_fts_au AFTER UPDATE OF title, authors_folded, abstract ON papers "
        "BEGIN "
        "INSERT INTO papers_fts(papers_fts, rowid, title, authors_folded, abstract) "
        "VALUES ('delete', old.id, old.title, old.authors_folded, old.abstract); "
        "INSERT INTO papers_fts(rowid, title, authors_folded, abstract) "
        "VALUES (new.id, new.title, new.authors_folded, new.abstract); END"
    )


def _postgres_fts() -> None:
    op.execute(
        "ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(authors_folded, '')), 'B') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')) STORED"
    )
    op.execute("CREATE INDEX ix_papers_search ON papers USING GIN (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("papers_fts_ai", "papers_fts_ad", "papers_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    for table in (
        "ingest_runs",
        "sources",
        "paper_sources",
        "paper_versions",
        "paper_categories",
        "paper_authors",
        "papers",
    ):
        op.drop_table(table)
