"""A local replay HTTP server for tests: recorded feed bodies served with real HTTP behaviour.

Three ways to run it:

- in async tests: ``async with FeedServer() as server:`` (or ``await start_feed_server()``), or the
  ``feed_server`` fixture when this module is listed in ``pytest_plugins``;
- from synchronous tests that start a subprocess (the real ``paperbot ingest``):
  ``with run_in_thread() as served: ... served.base_url ...`` runs it on its own loop in a thread;
- standalone: ``python -m tests.support.feed_server /rss/cs.CL=tests/fixtures/arxiv/x.xml`` prints
  the base URL and serves until interrupted.

Routes are matched on ``path?query`` first, then on the path alone. A scripted path plays its
responses in order; once they run out it falls back to the path's ``add`` route if there is one,
else repeats the last scripted response. Every request is recorded with its arrival time
(``time.monotonic``, the fetcher's default clock) so tests can check headers and spacing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"
ARXIV_FIXTURES = FIXTURES_DIR / "arxiv"

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Response:
    """One canned response. ``truncate_at`` announces the full length but sends only that many
    bytes and then drops the connection; ``delay_s`` waits before answering (for timeouts)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    delay_s: float = 0.0
    truncate_at: int | None = None

    @classmethod
    def from_recording(cls, path: str | Path, **overrides: object) -> Response:
        """A response from a fixture: a ``.json`` recording (url, status_code, body) or a raw body.

        A bare file name is looked up in tests/fixtures/arxiv.
        """
        file = _fixture_file(path)
        if file.suffix == ".json":
            data = json.loads(file.read_text(encoding="utf-8"))
            fields: dict[str, object] = {
                "status": int(data["status_code"]),
                "body": str(data["body"]).encode("utf-8"),
            }
        else:
            fields = {"body": file.read_bytes()}
        fields.update(overrides)
        return cls(**fields)  # type: ignore[arg-type]


def _fixture_file(path: str | Path) -> Path:
    file = Path(path)
    if not file.is_absolute() and not file.exists():
        file = ARXIV_FIXTURES / file
    return file


def fixture_bytes(name: str | Path) -> bytes:
    """The body of a fixture: raw for .xml, the recorded body for a .json recording."""
    return Response.from_recording(name).body


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str  # raw query string
    headers: CIMultiDictProxy[str]
    time: float  # time.monotonic() at arrival

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)


def guess_content_type(body: bytes) -> str:
    head = body[:2048].lstrip()
    if b"<rss" in head:
        return RSS
    if b"<feed" in head:
        return ATOM
    if b"<rdf:RDF" in head:
        return "application/rdf+xml; charset=utf-8"
    if head.startswith(b"<"):
        return "application/xml; charset=utf-8"
    return "text/plain; charset=utf-8"


def _etag_matches(if_none_match: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unparsable date must not hide new content


class FeedServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._routes: dict[str, Response] = {}
        self._scripts: dict[str, deque[Response]] = {}
        self._last_scripted: dict[str, Response] = {}
        self._requests: list[RecordedRequest] = []
        # Routes may be changed from another thread while the server loop reads them.
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._base_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A handler sleeping for a timeout test must not hold shutdown for aiohttp's default 60 s.
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self._closing = asyncio.Event()
        host, port = runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the feed server is not started")
        return self._base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def netloc(self) -> str:
        return self.base_url.split("://", 1)[1]

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- routes ----------------------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        content_type: str | None = None,
        delay_s: float = 0.0,
        truncate_at: int | None = None,
    ) -> None:
        """Serve ``body`` at ``path`` (or ``path?query``), answering conditional requests."""
        self.add_response(
            path,
            Response(
                status=status,
                body=body,
                headers=dict(headers or {}),
                etag=etag,
                last_modified=last_modified,
                content_type=content_type,
                delay_s=delay_s,
                truncate_at=truncate_at,
            ),
        )

    def add_response(self, path: str, response: Response) -> None:
        with self._lock:
            self._routes[path] = response

    def add_fixture(self, path: str, fixture: str | Path, **overrides: object) -> Response:
        """Serve a recorded fixture (``.xml`` body or ``.json`` recording) at ``path``."""
        response = Response.from_recording(fixture, **overrides)
        self.add_response(path, response)
        return response

    def script(self, path: str, responses: Iterable[Response]) -> None:
        """Answer the next requests to ``path`` with ``responses``, in order."""
        queue = deque(responses)
        if not queue:
            raise ValueError("a script needs at least one response")
        with self._lock:
            self._scripts[path] = queue
            self._last_scripted[path] = queue[-1]

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _next_response(self, path: str, query: str) -> Response | None:
        keys = [f"{path}?{query}", path] if query else [path]
        with self._lock:
            for key in keys:
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
                if key in self._routes:
                    return self._routes[key]
                if key in self._last_scripted:
                    return self._last_scripted[key]
        return None

    # -- serving ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=request.query_string,
                    headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                    time=arrived,
                )
            )
        response = self._next_response(request.path, request.query_string)
        if response is None:
            return web.Response(status=404, text=f"no route for {request.path_qs}\n")
        if response.delay_s > 0 and self._closing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), response.delay_s)

        headers: CIMultiDict[str] = CIMultiDict(response.headers)
        if response.etag is not None:
            headers["ETag"] = response.etag
        if response.last_modified is not None:
            headers["Last-Modified"] = response.last_modified
        if response.status == 200 and self._unchanged(request, response):
            return web.Response(status=304, headers=headers)
        if response.status in (204, 304):
            return web.Response(status=response.status, headers=headers)
        headers.setdefault(
            "Content-Type", response.content_type or guess_content_type(response.body)
        )
        if response.truncate_at is None:
            return web.Response(status=response.status, body=response.body, headers=headers)

        stream = web.StreamResponse(status=response.status, headers=headers)
        stream.content_length = len(response.body)
        await stream.prepare(request)
        await stream.write(response.body[: response.truncate_at])
        if request.transport is not None:
            request.transport.close()
        return stream

    @staticmethod
    def _unchanged(request: web.Request, response: Response) -> bool:
        # RFC 9110: when If-None-Match is present, If-Modified-Since is ignored.
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            return response.etag is not None and _etag_matches(if_none_match, response.etag)
        if_modified_since = request.headers.get("If-Modified-Since")
        if if_modified_since is not None and response.last_modified is not None:
            return _not_modified_since(if_modified_since, response.last_modified)
        return False


async def start_feed_server(host: str = "127.0.0.1", port: int = 0) -> FeedServer:
    """A started server; the caller must ``await server.stop()``."""
    return await FeedServer(host, port).start()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


class ThreadedFeedServer:
    """A FeedServer running on its own event loop in a daemon thread."""

    def __init__(
        self, server: FeedServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.server = server
        self._loop = loop
        self._thread = thread

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def __str__(self) -> str:
        return self.base_url

    def stop(self, timeout_s: float = 5.0) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 10.0
) -> ThreadedFeedServer:
    """Start a FeedServer in a background thread; ``.base_url`` is ready when this returns."""
    loop = asyncio.new_event_loop()
    server = FeedServer(host, port)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="feed-server", daemon=True)
    thread.start()
    if not started.wait(startup_timeout_s):
        raise RuntimeError(f"feed server did not start within {startup_timeout_s} s")
    if failure:
        raise RuntimeError("feed server failed to start") from failure[0]
    return ThreadedFeedServer(server, loop, thread)


def _route_arg(text: str) -> tuple[str, Path]:
    path, sep, file = text.partition("=")
    if not sep or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected /PATH=FILE, got {text!r}")
    return path, _fixture_file(file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve recorded feeds on 127.0.0.1.")
    parser.add_argument("routes", nargs="*", type=_route_arg, help="/PATH=FIXTURE_FILE")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with FeedServer(port=args.port) as server:
            for path, file in args.routes:
                server.add_fixture(path, file)
            print(server.base_url, flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()


__all__ = [
    "ARXIV_FIXTURES",
    "ATOM",
    "FIXTURES_DIR",
    "RSS",
    "FeedServer",
    "RecordedRequest",
    "Response",
    "ThreadedFeedServer",
    "feed_server",
    "fixture_bytes",
    "guess_content_type",
    "run_in_thread",
    "start_feed_server",
]
