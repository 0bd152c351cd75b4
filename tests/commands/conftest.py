"""The handlers run on a real SQLite catalog holding the recorded arXiv feed (1,504 papers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.settings import Settings
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.migrate import upgrade

FEED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    path = tmp_path_factory.mktemp("commands-catalog") / "paperbot.db"
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    upgrade(engine)
    SqlCatalog(engine).upsert(parse_arxiv_rss(FEED.read_bytes()).papers)
    engine.dispose()
    built = build_services(Settings(database_url=url))
    yield built
    built.close()
