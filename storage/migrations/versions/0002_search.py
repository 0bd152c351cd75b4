"""Search: date, id and author indexes; FTS5 vocabulary (SQLite); accent-free tsvector (PostgreSQL).

* ``ix_papers_day`` orders and filters by a paper's day, ``coalesce(published, updated,
  added_at)`` (never NULL: ``added_at`` is required), the date the query language's ``since:``,
  ``until:``, ``year:`` and ``sort:recent`` mean; ``id`` breaks ties.
* ``ix_papers_arxiv_id`` answers ``id:`` for papers stored under a DOI or title key.
* ``ix_paper_authors_surname_name`` covers the author lookup (surname, then the whole folded
  name checked for the other words) without visiting the table.
* SQLite: ``papers_fts_vocab``, an fts5vocab ``row`` table over ``papers_fts`` (term, doc, cnt):
  document frequencies of index terms, for tools and diagnostics. It stores nothing.
* PostgreSQL, when the ``unaccent`` extension can be installed (contrib; a trusted extension,
  kept in schema ``public``): the text search configuration ``paperbot_english`` (english with
  accents folded from non-ASCII words) and ``search_vector`` regenerated with it, as FTS5's
  ``remove_diacritics`` does on SQLite and as the query parser folds what people type:
  "Schrödinger" and "schrodinger" then meet on both backends. This rewrites the papers table
  once. Without the extension the 0001 vector stays (storage.search detects which is in use).

See docs/search.md.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONFIG = "paperbot_english"


def _vector(config: str) -> str:
    return (
        f"setweight(to_tsvector('{config}'::regconfig, coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector('{config}'::regconfig, coalesce(authors_folded, '')), 'B') || "
        f"setweight(to_tsvector('{config}'::regconfig, coalesce(abstract, '')), 'C')"
    )


def _set_vector(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_papers_search")
    op.execute("ALTER TABLE papers DROP COLUMN search_vector")
    op.execute(
        f"ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({expression}) "
        "STORED"
    )
    op.execute("CREATE INDEX ix_papers_search ON papers USING GIN (search_vector)")


def _unaccent_schema() -> str | None:
    """The schema holding the unaccent extension, installing it in public if need be; None when
    it cannot be had (not installed on the server, or no right to create it)."""
    bind = op.get_bind()
    query = (
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    )
    found = bind.exec_driver_sql(query).scalar()
    if found is not None:
        return str(found)
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    except Exception:  # noqa: BLE001 - any failure means: go on without it
        pass
    # Another migration may have installed it meanwhile.
    found = bind.exec_driver_sql(query).scalar()
    return None if found is None else str(found)


def upgrade() -> None:
    op.execute("CREATE INDEX ix_papers_day ON papers (coalesce(published, updated, added_at), id)")
    op.create_index("ix_papers_arxiv_id", "papers", ["arxiv_id"])
    op.create_index(
        "ix_paper_authors_surname_name",
        "paper_authors",
        ["surname_folded", "name_folded", "paper_id"],
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE papers_fts_vocab USING fts5vocab(papers_fts, 'row')")
        return
    schema = _unaccent_schema()
    if schema is not None:
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.english)")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR hword, hword_part, word "
            f'WITH "{schema}".unaccent, english_stem'
        )
        _set_vector(_vector(CONFIG))
    # Planner statistics for tsvector matches (most common lexemes) and the new indexes.
    op.execute("ANALYZE papers")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS papers_fts_vocab")
    else:
        exists = op.get_bind().exec_driver_sql(
            "SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace "
            f"WHERE c.cfgname = '{CONFIG}' AND n.nspname = current_schema()"
        )
        if exists.scalar() is not None:
            _set_vector(_vector("english"))
            op.execute(f"DROP TEXT SEARCH CONFIGURATION {CONFIG}")
    op.drop_index("ix_paper_authors_surname_name", table_name="paper_authors")
    op.drop_index("ix_papers_arxiv_id", table_name="papers")
    op.execute("DROP INDEX ix_papers_day")
