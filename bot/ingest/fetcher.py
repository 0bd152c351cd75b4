"""Polite HTTP fetching: conditional GETs, one limiter per host group, retries with backoff.

arXiv allows at most one request every 3 s and one connection at a time, counted across its API, RSS
and OAI-PMH hosts together, so every ``*.arxiv.org`` host falls into one group that shares a single
lock and a single clock of "next allowed start". Other hosts get a group each.
"""

from __future__ import annotations

import asyncio
import errno
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from bot.domain.catalog import ConditionalState

ARXIV_GROUP = "arxiv.org"
# Applied unless the caller's min_interval names the same group: forgetting to configure arXiv must
# not make the bot impolite to it.
DEFAULT_MIN_INTERVAL: Mapping[str, float] = {ARXIV_GROUP: 3.0}
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    body: bytes | None  # None on 304
    not_modified: bool
    state: ConditionalState  # the validators to keep for the next fetch
    attempts: int
    elapsed_s: float
    content_type: str | None = None


class FetchError(Exception):
    """A fetch that did not produce a body: the reason is meant to be shown to people as is."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        body: bytes | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.status = status
        self.reason = reason
        # arXiv's API reports bad queries as an Atom feed with HTTP 400; the caller parses it.
        self.body = body
        self.attempts = attempts


def host_key(url: str) -> str:
    """``host`` or ``host:port`` (port only when not the scheme's default), lower case.

    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in URL {url!r}") from exc
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        return f"{host}:{port}"
    return host


def _strip_port(key: str) -> str:
    if key.startswith("["):
        return key[: key.index("]") + 1]
    return key.rsplit(":", 1)[0] if ":" in key else key


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a wait
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are GMT by definition
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g}"


@dataclass
class _Group:
    lock: asyncio.Lock
    interval: float
    next_start: float | None = None

    def defer(self, until: float) -> None:
        if self.next_start is None or until > self.next_start:
            self.next_start = until


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes | None
    headers: CIMultiDictProxy[str]
    reason: str | None


@dataclass(frozen=True)
class _Failure:
    reason: str
    retryable: bool
    status: int | None = None
    body: bytes | None = None
    retry_after: float | None = None


class Fetcher:
    """Fetches URLs through an injected session, one request at a time per host group.

    ``min_interval`` maps hosts (``export.arxiv.org``, ``127.0.0.1:8080``) or group names
    (``arxiv.org``) to the minimum seconds between request starts; when several entries fall into
    one group the largest wins. ``host_groups`` maps extra hosts into a group or onto another host,
    e.g. ``{"127.0.0.1:8080": "rss.arxiv.org"}`` so a local proxy for arXiv is still spaced like
    arXiv (see :func:`bot.ingest.sources.host_groups_for`).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        user_agent: str,
        min_interval: Mapping[str, float] | None = None,
        host_groups: Mapping[str, str] | None = None,
        default_interval: float = 1.0,
        timeout_s: float = 30.0,
        max_attempts: int = 4,
        backoff_base_s: float = 2.0,
        backoff_cap_s: float = 120.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("user_agent must name the bot and a contact, not be empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if default_interval < 0 or backoff_base_s < 0 or backoff_cap_s < 0:
            raise ValueError("intervals and backoff times must not be negative")
        if any(v < 0 for v in (min_interval or {}).values()):
            raise ValueError("min_interval values must not be negative")
        self._session = session
        self._user_agent = user_agent
        self._min_interval = {k.lower(): v for k, v in (min_interval or {}).items()}
        self._host_groups = {k.lower(): v.lower() for k, v in (host_groups or {}).items()}
        self._default_interval = default_interval
        self._timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._groups: dict[str, _Group] = {}

    def group_for(self, host: str) -> str:
        """The limiter group of a host key (``host`` or ``host:port``)."""
        host = host.lower()
        target = self._host_groups.get(host) or self._host_groups.get(_strip_port(host)) or host
        bare = _strip_port(target)
        if bare == ARXIV_GROUP or bare.endswith("." + ARXIV_GROUP):
            return ARXIV_GROUP
        return target

    def interval_for(self, group: str) -> float:
        for table in (self._min_interval, DEFAULT_MIN_INTERVAL):
            matching = [v for k, v in table.items() if self.group_for(k) == group]
            if matching:
                return max(matching)
        return self._default_interval

    def _group(self, name: str) -> _Group:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Group(asyncio.Lock(), self.interval_for(name))
        return group

    async def fetch(self, url: str, state: ConditionalState | None = None) -> FetchResult:
        """GET ``url``; a 304 keeps ``state``. Raises FetchError when no body could be had."""
        group = self._group(self.group_for(host_key(url)))
        headers = {"User-Agent": self._user_agent, "Accept": _ACCEPT}
        if state is not None and state.etag:
            headers["If-None-Match"] = state.etag
        if state is not None and state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(group, url, headers)
            if isinstance(outcome, _Reply):
                if outcome.status in RETRY_STATUSES:
                    outcome = _Failure(
                        f"HTTP {outcome.status}",
                        retryable=True,
                        status=outcome.status,
                        body=outcome.body,
                        retry_after=parse_retry_after(outcome.headers.get("Retry-After")),
                    )
                elif outcome.status >= 300 and outcome.status != 304:
                    # aiohttp follows redirects; a 3xx reaching here had none it could follow.
                    detail = f" {outcome.reason}" if outcome.reason else ""
                    raise FetchError(
                        url,
                        f"HTTP {outcome.status}{detail}",
                        status=outcome.status,
                        body=outcome.body,
                        attempts=attempt,
                    )
                else:
                    return self._result(url, outcome, state, attempt, started)
            if not outcome.retryable or attempt >= self._max_attempts:
                raise FetchError(
                    url,
                    _final_reason(outcome, attempt),
                    status=outcome.status,
                    body=outcome.body,
                    attempts=attempt,
                )
            # The wait is charged to the whole group, not just this URL: a throttled or failing
            # host should see less traffic from us, and other queued requests must not jump in
            # before the server's Retry-After has passed.
            group.defer(self._clock() + self._backoff(attempt, outcome.retry_after))

    def _result(
        self,
        url: str,
        reply: _Reply,
        state: ConditionalState | None,
        attempts: int,
        started: float,
    ) -> FetchResult:
        content_type = reply.headers.get("Content-Type")
        elapsed = self._clock() - started
        if reply.status == 304:
            return FetchResult(
                url=url,
                status=304,
                body=None,
                not_modified=True,
                state=state or ConditionalState(),
                attempts=attempts,
                elapsed_s=elapsed,
                content_type=content_type,
            )
        return FetchResult(
            url=url,
            status=reply.status,
            body=reply.body or b"",
            not_modified=False,
            state=ConditionalState(
                etag=reply.headers.get("ETag"),
                last_modified=reply.headers.get("Last-Modified"),
            ),
            attempts=attempts,
            elapsed_s=elapsed,
            content_type=content_type,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._backoff_cap_s)
        delay = min(self._backoff_cap_s, self._backoff_base_s * 2 ** (attempt - 1))
        # "Equal jitter": never less than half the step, so clients that failed together spread
        # out without any of them retrying almost at once.
        return delay * (0.5 + 0.5 * self._rng.random())

    async def _attempt(
        self, group: _Group, url: str, headers: Mapping[str, str]
    ) -> _Reply | _Failure:
        async with group.lock:
            if group.next_start is not None:
                wait = group.next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            group.next_start = self._clock() + group.interval
            try:
                async with self._session.get(
                    url, headers=headers, timeout=self._timeout, allow_redirects=True
                ) as resp:
                    if resp.status == 304:
                        return _Reply(304, None, resp.headers, resp.reason)
                    return await _read(resp)
            except TimeoutError:
                # Checked before ClientError: aiohttp's ServerTimeoutError is both.
                return _Failure(f"timed out after {_fmt_seconds(self._timeout_s)} s", True)
            except aiohttp.ClientConnectorDNSError:
                return _Failure(f"cannot resolve host {urlsplit(url).hostname}", True)
            except aiohttp.ClientConnectorError as exc:
                return _Failure(_connector_reason(exc), True)
            except aiohttp.ServerDisconnectedError:
                return _Failure("server closed the connection without a response", True)
            except aiohttp.ClientConnectionError as exc:
                return _Failure(f"connection error: {exc}", True)
            except aiohttp.ClientError as exc:
                # Bad URLs, too many redirects and the like: trying again changes nothing.
                return _Failure(f"request failed: {type(exc).__name__}: {exc}", False)


async def _read(resp: aiohttp.ClientResponse) -> _Reply | _Failure:
    expected = resp.content_length
    # With a Content-Encoding the header counts compressed bytes while we count decoded ones.
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    buf = bytearray()
    try:
        async for chunk in resp.content.iter_any():
            buf += chunk
    except aiohttp.ClientPayloadError as exc:
        if expected is not None and not encoded:
            reason = f"truncated body: got {len(buf)} of {expected} bytes"
        else:
            reason = f"truncated body: connection broke after {len(buf)} bytes ({exc})"
        return _Failure(reason, True, status=resp.status, body=bytes(buf) or None)
    if expected is not None and not encoded and len(buf) < expected:
        return _Failure(
            f"truncated body: got {len(buf)} of {expected} bytes",
            True,
            status=resp.status,
            body=bytes(buf) or None,
        )
    return _Reply(resp.status, bytes(buf), resp.headers, resp.reason)


def _connector_reason(exc: aiohttp.ClientConnectorError) -> str:
    code = exc.os_error.errno
    if code == errno.ECONNREFUSED:
        return "connection refused"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host unreachable"
    return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"


def _final_reason(failure: _Failure, attempts: int) -> str:
    if attempts == 1:
        return failure.reason
    if failure.reason.startswith("HTTP "):
        return f"{failure.reason} after {attempts} attempts"
    return f"{failure.reason} (gave up after {attempts} attempts)"
