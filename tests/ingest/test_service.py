"""The ingest pipeline end to end: replayed real feeds, fetch, parse, catalog, run record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.ingest.fetcher import Fetcher
from bot.ingest.service import IngestService, source_label
from bot.ingest.sources import resolve_source
from storage.catalog import SqlCatalog
from tests.support.feed_server import FeedServer, Response, fixture_bytes

RSS = "rss_2024-11-28_all_archives.xml"


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def service(catalog: SqlCatalog, server: FeedServer) -> AsyncIterator[IngestService]:
    async def no_sleep(_: float) -> None:
        return None

    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(
            session,
            user_agent="paperbot-tests",
            min_interval={"arxiv.org": 0.0},
            host_groups={server.netloc: "rss.arxiv.org"},
            max_attempts=3,
            timeout_s=2.0,
            sleep=no_sleep,
        )
        overrides = {
            "https://rss.arxiv.org": server.base_url,
            "https://export.arxiv.org": server.base_url,
        }
        yield IngestService(catalog, fetcher, overrides=overrides)


async def test_a_real_feed_lands_and_a_replay_changes_nothing(
    service: IngestService, server: FeedServer, catalog: SqlCatalog
) -> None:
    server.add("/rss/cs.CL", fixture_bytes(RSS), etag='"day1"')
    first = await service.ingest("cs.CL")
    assert (first.status, first.fetched, first.new) == ("ok", 1504, 1504)
    assert catalog.count() == 1504
    second = await service.ingest("cs.CL")
    assert second.status == "not_modified"
    assert catalog.count() == 1504
    runs = catalog.recent_runs(source="cs.CL")
    assert [r.status for r in runs] == ["not_modified", "ok"]


async def test_an_empty_feed_is_normal_and_says_why(
    service: IngestService, server: FeedServer
) -> None:
    server.add("/rss/cs.CL", fixture_bytes("rss_2024-11-28_empty_test_archive.xml"))
    run = await service.ingest("cs.CL")
    assert run.status == "empty"
    assert run.reason is not None and "weekends and holidays" in run.reason


async def test_a_truncated_feed_changes_nothing_already_stored(
    service: IngestService, server: FeedServer, catalog: SqlCatalog
) -> None:
    body = fixture_bytes(RSS)
    server.add("/rss/cs.CL", body)
    await service.ingest("cs.CL")
    before = catalog.get("2411.17702")
    # The server cuts the body mid-way every time; then a feed that is well-formed XML but cut.
    server.script("/rss/cs.CL", [Response(body=body, truncate_at=len(body) // 2)] * 3)
    run = await service.ingest("cs.CL")
    assert run.status == "failed" and "truncated" in (run.reason or "")
    server.script("/rss/cs.CL", [Response(body=body[: len(body) // 3])])
    run = await service.ingest("cs.CL")
    assert run.status == "failed" and "nothing stored" in (run.reason or "")
    assert catalog.count() == 1504
    assert catalog.get("2411.17702") == before


async def test_the_arxiv_api_error_feed_is_an_error_not_a_paper(
    service: IngestService, server: FeedServer, catalog: SqlCatalog
) -> None:
    server.add_response(
        "/api/query", Response.from_recording("arxivpy_id_abc_s0_m100_b79c8dcf6bc3.json")
    )
    run = await service.ingest("arxiv:all:abc")
    assert run.status == "failed"
    assert "incorrect id format for abc" in (run.reason or "")
    assert catalog.count() == 0


async def test_a_malformed_entry_is_skipped_and_the_rest_lands(
    service: IngestService, server: FeedServer, catalog: SqlCatalog
) -> None:
    body = fixture_bytes(RSS).replace(
        b"<title>Probabilistic Forecasting of Radiation Exposure for Spaceflight</title>",
        b"<title></title>",
        1,
    )
    server.add("/rss/cs.CL", body)
    run = await service.ingest("cs.CL")
    assert run.status == "ok"
    assert (run.fetched, run.skipped) == (1503, 1)
    assert "title" in run.skipped_entries[0].reason
    assert catalog.count() == 1503
    [recorded] = catalog.recent_runs(source="cs.CL")
    assert recorded.skipped_entries[0].reason == run.skipped_entries[0].reason


async def test_429_then_success_lands_once(
    service: IngestService, server: FeedServer, catalog: SqlCatalog
) -> None:
    server.script(
        "/rss/cs.CL",
        [
            Response(status=429, headers={"Retry-After": "1"}),
            Response(status=503),
            Response(body=fixture_bytes(RSS)),
        ],
    )
    run = await service.ingest("cs.CL")
    assert run.status == "ok" and run.new == 1504
    assert len(server.requests("/rss/cs.CL")) == 3


def test_papers_record_where_they_came_from() -> None:
    assert source_label(resolve_source("cs.CL")) == "arxiv-rss"
    assert source_label(resolve_source("id:2403.05530")) == "arxiv-api"
    assert source_label(resolve_source("https://example.org/feed.xml")) == "feed:example.org"
