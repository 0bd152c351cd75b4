"""Fetcher against the local replay server, with arXiv's recorded responses as bodies."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from typing import Any

import aiohttp
import pytest

from bot.ingest.fetcher import (
    ARXIV_GROUP,
    ConditionalState,
    Fetcher,
    FetchError,
    parse_retry_after,
)
from bot.ingest.sources import host_groups_for, resolve_source, with_base
from tests.support.feed_server import (
    ATOM,
    RSS,
    FeedServer,
    Response,
    fixture_bytes,
    run_in_thread,
)

RSS_BODY = fixture_bytes("rss_2024-11-28_all_archives.xml")
API_BODY = fixture_bytes("api_2026-04_search_testing_max10.xml")
UA = "paperbot-tests/0.1 (mailto:tests@example.org)"


class FakeTime:
    """A clock and a sleep that only move when the fetcher sleeps: waits are recorded, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as served:
        yield served


@pytest.fixture
async def other_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as served:
        yield served


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_fetcher(
    session: aiohttp.ClientSession, fake_time: FakeTime | None = None, **kwargs: Any
) -> Fetcher:
    """A fetcher with no spacing for the local server unless a test asks for it."""
    kwargs.setdefault("default_interval", 0.0)
    kwargs.setdefault("rng", random.Random(0))
    if fake_time is not None:
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("sleep", fake_time.sleep)
    return Fetcher(session, user_agent=UA, **kwargs)


# -- conditional requests --------------------------------------------------------------------------


async def test_etag_then_304(server: FeedServer, session: aiohttp.ClientSession) -> None:
    server.add("/rss/cs", RSS_BODY, etag='"rss-1128"')
    fetcher = make_fetcher(session)

    first = await fetcher.fetch(server.url("/rss/cs"))
    assert first.status == 200
    assert first.body == RSS_BODY
    assert not first.not_modified
    assert first.state == ConditionalState(etag='"rss-1128"', last_modified=None)
    assert first.content_type == RSS
    assert first.attempts == 1

    second = await fetcher.fetch(server.url("/rss/cs"), first.state)
    assert second.status == 304
    assert second.not_modified
    assert second.body is None
    assert second.state == first.state

    sent = server.requests("/rss/cs")
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == '"rss-1128"'
    assert all(r.headers["User-Agent"] == UA for r in sent)


async def test_last_modified_then_304_then_new_content(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    old_date = "Sun, 12 Apr 2026 22:09:27 GMT"
    server.add("/api/query", API_BODY, last_modified=old_date)
    fetcher = make_fetcher(session)

    first = await fetcher.fetch(server.url("/api/query?search_query=all:testing"))
    assert first.state == ConditionalState(etag=None, last_modified=old_date)
    assert first.content_type == ATOM

    second = await fetcher.fetch(server.url("/api/query?search_query=all:testing"), first.state)
    assert second.not_modified and second.body is None
    assert server.requests()[1].headers["If-Modified-Since"] == old_date
    assert "If-None-Match" not in server.requests()[1].headers

    new_date = "Mon, 13 Apr 2026 22:09:27 GMT"
    server.add("/api/query", API_BODY + b"\n", last_modified=new_date)
    third = await fetcher.fetch(server.url("/api/query?search_query=all:testing"), second.state)
    assert not third.not_modified
    assert third.body == API_BODY + b"\n"
    assert third.state.last_modified == new_date


async def test_304_keeps_both_validators(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    date = "Thu, 28 Nov 2024 17:23:08 GMT"
    server.add("/rss/cs.CL", RSS_BODY, etag='W/"x"', last_modified=date)
    state = ConditionalState(etag='W/"x"', last_modified=date)
    result = await make_fetcher(session).fetch(server.url("/rss/cs.CL"), state)
    assert result.not_modified and result.state is state
    headers = server.requests()[0].headers
    assert headers["If-None-Match"] == 'W/"x"'
    assert headers["If-Modified-Since"] == date


# -- retries ---------------------------------------------------------------------------------------


async def test_429_retry_after_seconds_is_honoured(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/api/query",
        [Response(status=429, headers={"Retry-After": "1"}), Response(200, body=API_BODY)],
    )
    result = await make_fetcher(session, fake_time).fetch(server.url("/api/query"))
    assert result.status == 200 and result.body == API_BODY
    assert result.attempts == 2
    assert fake_time.sleeps == [1.0]
    assert result.elapsed_s == pytest.approx(1.0)
    assert len(server.requests()) == 2


async def test_retry_after_http_date(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/rss/cs",
        [
            Response(
                status=503, headers={"Retry-After": formatdate(time.time() + 10, usegmt=True)}
            ),
            Response(200, body=RSS_BODY),
        ],
    )
    result = await make_fetcher(session, fake_time).fetch(server.url("/rss/cs"))
    assert result.body == RSS_BODY
    [waited] = fake_time.sleeps
    assert 8.5 <= waited <= 10.0  # whole-second dates, and a little real time has passed


async def test_retry_after_is_capped(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/x", [Response(status=429, headers={"Retry-After": "3600"}), Response(200, body=b"ok")]
    )
    fetcher = make_fetcher(session, fake_time, backoff_cap_s=5.0)
    assert (await fetcher.fetch(server.url("/x"))).body == b"ok"
    assert fake_time.sleeps == [5.0]


async def test_retry_after_longer_than_arxiv_interval_wins(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/api/query",
        [Response(status=429, headers={"Retry-After": "7"}), Response(200, body=API_BODY)],
    )
    fetcher = make_fetcher(session, fake_time, host_groups={server.netloc: "export.arxiv.org"})
    await fetcher.fetch(server.url("/api/query"))
    assert fake_time.sleeps == [7.0]


async def test_503_twice_then_200_backs_off_exponentially(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/rss/cs", [Response(status=503), Response(status=503), Response(200, body=RSS_BODY)]
    )
    result = await make_fetcher(session, fake_time, backoff_base_s=2.0).fetch(server.url("/rss/cs"))
    assert result.body == RSS_BODY
    assert result.attempts == 3
    first, second = fake_time.sleeps
    # Equal jitter: between half and all of base * 2**(n-1).
    assert 1.0 <= first <= 2.0
    assert 2.0 <= second <= 4.0


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_other_5xx_are_retried(
    status: int, server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script("/x", [Response(status=status), Response(200, body=b"ok")])
    result = await make_fetcher(session, fake_time).fetch(server.url("/x"))
    assert result.attempts == 2


async def test_503_forever_gives_up_with_attempt_count(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script("/api/query", [Response(status=503, body=b"busy")])
    fetcher = make_fetcher(session, fake_time, max_attempts=4, backoff_cap_s=10.0)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/api/query"))
    err = info.value
    assert err.status == 503
    assert err.reason == "HTTP 503 after 4 attempts"
    assert err.attempts == 4
    assert err.body == b"busy"
    assert err.url == server.url("/api/query")
    assert len(server.requests()) == 4
    assert len(fake_time.sleeps) == 3
    assert all(s <= 10.0 for s in fake_time.sleeps)


async def test_timeout(server: FeedServer, session: aiohttp.ClientSession) -> None:
    server.add("/slow", API_BODY, delay_s=5.0)
    fetcher = make_fetcher(session, FakeTime(), timeout_s=0.3, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/slow"))
    assert time.monotonic() - started < 2.0
    assert info.value.reason == "timed out after 0.3 s (gave up after 2 attempts)"
    assert info.value.status is None
    assert len(server.requests()) == 2


async def test_truncated_body_is_retried_then_reported(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.add("/api/query", API_BODY, truncate_at=1200)
    fetcher = make_fetcher(session, fake_time, max_attempts=2)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/api/query"))
    assert info.value.reason == (
        f"truncated body: got 1200 of {len(API_BODY)} bytes (gave up after 2 attempts)"
    )
    assert len(server.requests()) == 2


async def test_truncated_body_then_complete(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.script(
        "/rss/cs",
        [Response(200, body=RSS_BODY, truncate_at=5000), Response(200, body=RSS_BODY)],
    )
    result = await make_fetcher(session, fake_time).fetch(server.url("/rss/cs"))
    assert result.body == RSS_BODY
    assert result.attempts == 2


async def test_arxiv_400_error_feed_is_not_retried(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.add_fixture("/api/query", "arxivpy_id_abc_s0_m100_b79c8dcf6bc3.json")
    fetcher = make_fetcher(session, fake_time)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/api/query?id_list=abc"))
    err = info.value
    assert err.status == 400
    assert err.reason == "HTTP 400 Bad Request"
    assert err.attempts == 1
    assert err.body is not None
    assert b"<title>Error</title>" in err.body
    assert b"incorrect id format for abc" in err.body
    assert len(server.requests()) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [300, 403, 404, 410])
async def test_other_errors_are_not_retried(
    status: int, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.add("/rss/cs", b"no", status=status)
    with pytest.raises(FetchError) as info:
        await make_fetcher(session, FakeTime()).fetch(server.url("/rss/cs"))
    assert info.value.status == status
    assert info.value.reason.startswith(f"HTTP {status} ")
    assert len(server.requests()) == 1


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher = make_fetcher(session, FakeTime(), max_attempts=1)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(f"http://127.0.0.1:{port}/rss/cs")
    assert info.value.reason == "connection refused"
    assert info.value.status is None


async def test_rejects_non_http_urls(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="http"):
        await make_fetcher(session).fetch("ftp://export.arxiv.org/x")


# -- politeness ------------------------------------------------------------------------------------


async def test_arxiv_hosts_share_one_limiter(
    server: FeedServer,
    other_server: FeedServer,
    session: aiohttp.ClientSession,
) -> None:
    """Two "arXiv hosts" (two local servers standing in for RSS and API): one request at a time."""
    server.add("/rss/cs", RSS_BODY, delay_s=0.3)
    other_server.add("/api/query", API_BODY, delay_s=0.3)
    fetcher = make_fetcher(
        session,
        host_groups={server.netloc: "rss.arxiv.org", other_server.netloc: "export.arxiv.org"},
        min_interval={"arxiv.org": 0.0},
    )
    await asyncio.gather(
        fetcher.fetch(server.url("/rss/cs")), fetcher.fetch(other_server.url("/api/query"))
    )
    [a] = server.requests()
    [b] = other_server.requests()
    # The second request may only arrive after the first one's 0.3 s response has finished.
    assert abs(b.time - a.time) >= 0.29


async def test_arxiv_group_spacing(server: FeedServer, session: aiohttp.ClientSession) -> None:
    server.add("/rss/cs", RSS_BODY)
    server.add("/api/query", API_BODY)
    # The test override must not be weaker than configured: 0.2 s here, 3 s in the real bot.
    fetcher = make_fetcher(
        session,
        host_groups={server.netloc: "rss.arxiv.org"},
        min_interval={"export.arxiv.org": 0.2},
    )
    await asyncio.gather(
        fetcher.fetch(server.url("/rss/cs")),
        fetcher.fetch(server.url("/api/query")),
        fetcher.fetch(server.url("/rss/cs")),
    )
    times = sorted(r.time for r in server.requests())
    assert len(times) == 3
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))


async def test_default_arxiv_interval_is_three_seconds(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.add("/rss/cs", RSS_BODY)
    fetcher = make_fetcher(
        session, fake_time, host_groups=host_groups_for({"rss.arxiv.org": server.base_url})
    )
    await fetcher.fetch(server.url("/rss/cs"))
    await fetcher.fetch(server.url("/rss/cs"))
    assert fake_time.sleeps == [3.0]


async def test_different_hosts_are_not_serialised(
    server: FeedServer, other_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    server.add("/feed", RSS_BODY, delay_s=0.3)
    other_server.add("/feed", API_BODY, delay_s=0.3)
    fetcher = make_fetcher(session, default_interval=5.0)
    started = time.monotonic()
    await asyncio.gather(
        fetcher.fetch(server.url("/feed")), fetcher.fetch(other_server.url("/feed"))
    )
    assert time.monotonic() - started < 0.55
    [a] = server.requests()
    [b] = other_server.requests()
    assert abs(a.time - b.time) < 0.15


async def test_host_groups(session: aiohttp.ClientSession) -> None:
    fetcher = Fetcher(
        session,
        user_agent=UA,
        min_interval={"export.arxiv.org": 5.0, "example.org": 2.0},
        host_groups={"127.0.0.1:8080": "rss.arxiv.org", "mirror.example": "example.org"},
    )
    for host in (
        "arxiv.org",
        "export.arxiv.org",
        "rss.arxiv.org",
        "www.arxiv.org",
        "127.0.0.1:8080",
    ):
        assert fetcher.group_for(host) == ARXIV_GROUP
    assert fetcher.group_for("notarxiv.org") == "notarxiv.org"
    assert fetcher.group_for("mirror.example") == "example.org"
    # The strictest entry of a group wins; unnamed hosts get the default.
    assert fetcher.interval_for(ARXIV_GROUP) == 5.0
    assert fetcher.interval_for("example.org") == 2.0
    assert fetcher.interval_for("elsewhere.net") == 1.0
    bare = Fetcher(session, user_agent=UA)
    assert bare.interval_for(ARXIV_GROUP) == 3.0


def test_parse_retry_after() -> None:
    now = datetime(2026, 4, 12, 22, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


# -- sources + fetcher + server, end to end --------------------------------------------------------


async def test_resolved_source_through_base_override(
    server: FeedServer, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    server.add("/rss/cs.CL+cs.LG", RSS_BODY, etag='"e"')
    overrides = {"https://rss.arxiv.org": server.base_url}
    source = resolve_source("cs.CL+cs.LG")
    fetcher = make_fetcher(session, fake_time, host_groups=host_groups_for(overrides))
    result = await fetcher.fetch(with_base(source.url, overrides))
    assert source.format == "arxiv-rss"
    assert result.body == RSS_BODY
    assert fetcher.group_for(server.netloc) == ARXIV_GROUP


# -- the replay server from synchronous code ------------------------------------------------------


def test_run_in_thread_serves_sync_clients() -> None:
    with run_in_thread() as served:
        served.server.add_fixture("/api/query", "api_2026-04_error_400_id_abc.xml", status=400)
        served.server.add("/rss/cs", RSS_BODY, etag='"v1"')
        assert str(served).startswith("http://127.0.0.1:")

        with urllib.request.urlopen(served.url("/rss/cs"), timeout=5) as resp:
            assert resp.read() == RSS_BODY
            assert resp.headers["Content-Type"] == RSS
        conditional = urllib.request.Request(
            served.url("/rss/cs"), headers={"If-None-Match": '"v1"'}
        )
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(conditional, timeout=5)
        not_modified.value.close()
        assert not_modified.value.code == 304
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(served.url("/api/query?id_list=abc"), timeout=5)
        with bad.value:
            assert bad.value.code == 400
            assert bad.value.headers["Content-Type"] == ATOM
            assert b"incorrect id format for abc" in bad.value.read()
        assert [r.query for r in served.server.requests("/api/query")] == ["id_list=abc"]
