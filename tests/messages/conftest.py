"""Papers for the builder tests: real ones from the recorded arXiv feed, and hostile ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.papers import Author, Paper

FEED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
)

HOSTILE_TITLE = "@everyone <@&123> ||spoiler|| [link](http://evil) **bold** # not a heading"


@pytest.fixture(scope="session")
def feed_papers() -> list[Paper]:
    return parse_arxiv_rss(FEED.read_bytes()).papers


@pytest.fixture
def huge_paper() -> Paper:
    """A 300-character title, 4,000-character abstract and 120 authors."""
    title = " ".join(["Scaling"] * 43)[:300]
    abstract = "We propose a method that improves retrieval. " * 90
    return Paper(
        title=title,
        authors=tuple(Author(f"Author Number{i} Longname-Hyphenated") for i in range(120)),
        abstract=abstract[:4000],
        arxiv_id="2411.99999",
        version=3,
        categories=("cs.CL", "cs.LG", "cs.AI", "stat.ML"),
        published=datetime(2024, 11, 27, tzinfo=UTC),
    )
