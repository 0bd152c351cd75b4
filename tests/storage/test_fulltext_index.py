"""The tantivy index's life beside the database (storage.fulltext), on SQLite and PostgreSQL:
built from ``papers``, updated after an ingest through the ``changed_at`` watermark, rebuilt,
and never in the way: missing, behind, corrupt or foreign, the database answers and the log
says why.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.domain.query import parse_query
from bot.domain.search import ResultSlice
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.fulltext import (
    IndexMeta,
    TantivySearch,
    build_index,
    default_index_dir,
    index_status,
    update_index,
)
from storage.fulltext.index import META_NAME, day_bounds, paper_id_of, recent_key
from storage.migrate import upgrade
from storage.search import SqlSearch
from tests.storage.test_search import KEY, PAPERS, TODAY, _paper

NOW = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)


class NoDatabaseSearch(SqlSearch):
    """Fails any search that reaches the database: proves the index answered."""

    def search(self, *args: object, **kwargs: object) -> ResultSlice:
        raise AssertionError("the database was asked")


def find(search: TantivySearch | SqlSearch, text: str) -> tuple[list[str], int]:
    found = search.search(parse_query(text, today=TODAY), limit=50, offset=0)
    keys = [h.paper.key for h in found.hits]
    assert len(keys) == len(set(keys)), keys  # never the same paper twice
    return keys, found.total


def index_only(engine: Engine, path: Path) -> TantivySearch:
    return TantivySearch(engine, path, database=NoDatabaseSearch(engine), check_every=0.0)


@pytest.fixture
def indexed(catalog: SqlCatalog, tmp_path: Path) -> tuple[SqlCatalog, Path]:
    catalog.upsert(PAPERS)
    build_index(catalog.engine, tmp_path / "index")
    return catalog, tmp_path / "index"


def test_a_built_index_holds_every_paper_and_answers_alone(
    indexed: tuple[SqlCatalog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    catalog, path = indexed
    meta = IndexMeta.read(path)
    assert meta.papers == len(PAPERS) == catalog.count()
    assert meta.watermark is not None and meta.max_id >= len(PAPERS)
    assert index_status(catalog.engine, path)[0] == "ok"
    search = index_only(catalog.engine, path)
    with caplog.at_level(logging.INFO, logger="storage.fulltext"):
        assert find(search, "graph message") == ([KEY["graph_tf"], KEY["gnn"]], 2)
    assert "full-text index" in caplog.text and "in use" in caplog.text
    assert find(search, "cat:cs -graph")[1] == 2  # filters and exclusions, no database
    assert search.count(parse_query("graph", today=TODAY)) == (2, False)


def test_an_ingested_new_version_replaces_the_old_one(indexed: tuple[SqlCatalog, Path]) -> None:
    catalog, path = indexed
    search = index_only(catalog.engine, path)
    gnn = PAPERS[0]
    newer = replace(
        gnn,
        version=2,
        title="Graph neural networks for zeolites",
        updated=datetime(2024, 11, 28, 5, tzinfo=UTC),
    )
    assert catalog.upsert([newer]).updated == 1
    result = update_index(catalog.engine, path)
    assert result.action == "updated" and result.papers >= 1
    assert find(search, "zeolites") == ([KEY["gnn"]], 1)
    assert find(search, "title:molecules") == ([], 0)  # the old title is gone from the index
    keys, total = find(search, "graph")
    assert total == 2 and sorted(keys) == sorted([KEY["gnn"], KEY["graph_tf"]])
    assert IndexMeta.read(path).papers == len(PAPERS)  # replaced, not added


def test_new_papers_fall_back_to_the_database_until_the_update(
    indexed: tuple[SqlCatalog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    catalog, path = indexed
    search = TantivySearch(catalog.engine, path, check_every=0.0)
    fresh = _paper(
        "2411.00009",
        "Okapi stripes",
        ["Ann Bell"],
        "Okapi camouflage.",
        ("q-bio.PE",),
        "2024-11-27",
    )
    catalog.upsert([fresh])
    with caplog.at_level(logging.WARNING, logger="storage.fulltext"):
        assert find(search, "okapi") == (["2411.00009"], 1)  # the database answered
    assert "behind the database" in caplog.text
    assert search.status()[0] is False
    update_index(catalog.engine, path)
    assert search.status()[0] is True
    assert find(index_only(catalog.engine, path), "okapi") == (["2411.00009"], 1)


def test_an_update_with_nothing_new_changes_nothing(indexed: tuple[SqlCatalog, Path]) -> None:
    catalog, path = indexed
    # Without a margin (nothing else writes) the rows indexed by the build are not read again.
    result = update_index(catalog.engine, path, margin=timedelta(0))
    assert (result.action, result.papers) == ("unchanged", 0)
    # With the margin, rows stamped shortly before the last scan are read again (harmless).
    assert update_index(catalog.engine, path).papers == len(PAPERS)


def test_a_missing_index_falls_back_to_the_database(
    catalog: SqlCatalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog.upsert(PAPERS)
    search = TantivySearch(catalog.engine, tmp_path / "nowhere")
    with caplog.at_level(logging.WARNING, logger="storage.fulltext"):
        assert find(search, "graph message") == find(SqlSearch(catalog.engine), "graph message")
        assert search.similar(KEY["gnn"], limit=3)
    assert "using the database" in caplog.text and "no search index" in caplog.text
    assert caplog.text.count("no search index") == 1  # said once, not per search
    assert index_status(catalog.engine, tmp_path / "nowhere")[0] == "missing"


def test_a_corrupt_index_falls_back_and_an_update_rebuilds_it(
    indexed: tuple[SqlCatalog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    catalog, path = indexed
    search = TantivySearch(catalog.engine, path, check_every=0.0)
    (path / META_NAME).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="storage.fulltext"):
        assert find(search, "graph")[1] == 2
    assert "unreadable" in caplog.text
    result = update_index(catalog.engine, path)
    assert result.action == "built" and "unreadable" in result.reason
    assert find(index_only(catalog.engine, path), "graph")[1] == 2
    # Segment files gone: the index cannot be opened or fails mid-search; the database answers.
    for segment in path.iterdir():
        if segment.suffix in (".idx", ".term", ".pos", ".store"):
            segment.unlink()
    assert find(TantivySearch(catalog.engine, path, check_every=0.0), "graph")[1] == 2
    assert update_index(catalog.engine, path, rebuild=True).action == "built"
    assert find(index_only(catalog.engine, path), "graph")[1] == 2


def test_a_rebuild_replaces_the_index_under_an_open_search(
    indexed: tuple[SqlCatalog, Path],
) -> None:
    catalog, path = indexed
    search = index_only(catalog.engine, path)
    before = IndexMeta.read(path)
    assert find(search, "cavity")[1] == 1
    result = update_index(catalog.engine, path, rebuild=True)
    assert result.action == "built" and result.reason == "asked to rebuild"
    assert IndexMeta.read(path).built_at >= before.built_at
    assert find(search, "cavity")[1] == 1  # reopened on the new index
    assert not list(path.parent.glob("index.building-*")) and not list(path.parent.glob("*.old-*"))


def test_an_index_of_another_database_is_not_used(tmp_path: Path) -> None:
    engines = []
    for name, papers in (("a", PAPERS[:3]), ("b", PAPERS[3:])):
        engine = create_db_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        SqlCatalog(engine).upsert(papers)
        engines.append(engine)
    a, b = engines
    build_index(a, tmp_path / "a.search")
    state, reason, _ = index_status(b, tmp_path / "a.search")
    assert state == "foreign" and "another database" in reason
    search = TantivySearch(b, tmp_path / "a.search", check_every=0.0)
    assert search.status()[0] is False
    assert find(search, "quantum")[1] == 1  # from b's database
    assert update_index(b, tmp_path / "a.search").action == "built"
    assert search.status()[0] is True
    for engine in engines:
        engine.dispose()


def test_the_bot_brings_a_missing_or_stale_index_up_to_date_by_itself(
    catalog: SqlCatalog, tmp_path: Path
) -> None:
    catalog.upsert(PAPERS)
    search = TantivySearch(catalog.engine, tmp_path / "index", check_every=0.0, auto_update=True)
    assert find(search, "graph")[1] == 2  # the database, while the index is built
    assert search._updating is not None
    search._updating.join(30)
    assert search.status()[0] is True
    assert find(index_only(catalog.engine, tmp_path / "index"), "graph")[1] == 2


def test_no_query_text_goes_through_tantivys_query_parser() -> None:
    # Queries are built as objects from the parsed tree; a person's text never reaches
    # Index.parse_query, whose syntax (field:, ^, ~, ranges) would be theirs to use.
    import storage.fulltext as package

    for source in Path(package.__file__).parent.glob("*.py"):
        assert "parse_query(" not in source.read_text(encoding="utf-8"), source


def test_the_listing_key_orders_by_day_then_id_and_bounds_whole_days() -> None:
    day = int(datetime(2024, 11, 1, tzinfo=UTC).timestamp())
    assert recent_key(day, 7) < recent_key(day, 8) < recent_key(day + 1, 1)
    assert paper_id_of(recent_key(day, 123_456)) == 123_456
    low, high = day_bounds(date(2024, 11, 1), date(2024, 11, 1))
    assert low is not None and high is not None
    assert low <= recent_key(day, 1) <= high
    assert recent_key(day + 86_399, 99) <= high < recent_key(day + 86_400, 0)
    assert recent_key(day - 1, 10**6) < low
    assert recent_key(-(10**12), 5) == 5  # before 1800: clamped, never negative


def test_the_index_lives_beside_a_sqlite_file(tmp_path: Path) -> None:
    assert (
        default_index_dir(f"sqlite:///{tmp_path}/x/paperbot.db") == tmp_path / "x/paperbot.search"
    )
    assert (
        default_index_dir("sqlite:///x.db", str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    )
    pg = default_index_dir("postgresql+psycopg://u@db.example:5432/papers")
    assert pg.name == "papers-db.example.search"


def test_settings_choose_the_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.app import build_search
    from bot.settings import SettingsError, load_settings

    url = f"sqlite:///{tmp_path}/paperbot.db"
    engine = create_db_engine(url)
    default = build_search(load_settings(database_url=url), engine)
    assert isinstance(default, TantivySearch) and default.path == tmp_path / "paperbot.search"
    monkeypatch.setenv("PAPERBOT_SEARCH_ENGINE", "database")
    assert isinstance(build_search(load_settings(database_url=url), engine), SqlSearch)
    monkeypatch.setenv("PAPERBOT_SEARCH_ENGINE", "lucene")
    with pytest.raises(SettingsError, match="PAPERBOT_SEARCH_ENGINE"):
        load_settings(database_url=url)
    engine.dispose()
