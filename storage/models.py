"""The catalog's tables. Alembic migrations in storage/migrations create them; keep both in step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime


class Base(DeclarativeBase):
    pass


class PaperRow(Base):
    """One work. ``key`` is the arXiv id without version, else a DOI or title key."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    arxiv_id: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    # Denormalised for full-text search: names as written, and accent-folded for matching.
    authors_text: Mapped[str] = mapped_column(Text, default="")
    authors_folded: Mapped[str] = mapped_column(Text, default="")
    affiliations_text: Mapped[str] = mapped_column(Text, default="")
    primary_category: Mapped[str | None] = mapped_column(String(40))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime())
    doi: Mapped[str | None] = mapped_column(String(255))
    # bot.domain.papers.title_key: joins a record known only by title and first author.
    title_key: Mapped[str | None] = mapped_column(String(40))
    journal_ref: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_papers_doi", "doi"),
        Index("ix_papers_title_key", "title_key"),
        Index("ix_papers_published", "published"),
        Index("ix_papers_added_at", "added_at"),
        Index("ix_papers_primary_category", "primary_category"),
    )


class PaperAuthorRow(Base):
    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_folded: Mapped[str] = mapped_column(Text)
    surname_folded: Mapped[str] = mapped_column(String(200))
    # Newline-separated; a name can hold commas, an affiliation rarely holds a newline.
    affiliations: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_paper_authors_surname", "surname_folded"),)


class PaperCategoryRow(Base):
    __tablename__ = "paper_categories"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    archive: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_paper_categories_category", "category", "paper_id"),
        Index("ix_paper_categories_archive", "archive", "paper_id"),
    )


class PaperVersionRow(Base):
    __tablename__ = "paper_versions"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    submitted: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaperSourceRow(Base):
    __tablename__ = "paper_sources"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class SourceRow(Base):
    """A fetchable source and its conditional-GET validators."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(40))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str | None] = mapped_column(String(40))


class IngestRunRow(Base):
    """One ingest of one source: what it fetched and what became of it."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    # JSON list of {position, reason, ref} for skipped entries (capped).
    details: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_ingest_runs_source_started", "source", "started_at"),)
