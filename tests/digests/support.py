"""Test doubles for digests: a Discord-like poster, crashes, and APScheduler on a manual clock."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest

from bot.digests.service import ChannelGone, Retryable
from bot.domain.digest import DigestMessage
from tests.fakediscord.limits import check_message

NONCE_WINDOW = timedelta(minutes=5)


class Crash(BaseException):
    """The process dies here (kill -9): nothing after it runs, no handler catches it."""


def discord_body(message: DigestMessage, nonce: str) -> dict[str, Any]:
    """The message as the Discord front end will send it: content, one embed per card."""
    embeds = []
    for card in message.cards:
        embed: dict[str, Any] = {"title": card.title, "description": card.description()}
        if card.url:
            embed["url"] = card.url
        if card.footer:
            embed["footer"] = {"text": card.footer}
        embeds.append(embed)
    return {"content": message.content, "embeds": embeds, "nonce": nonce, "enforce_nonce": True}


@dataclass
class Posted:
    id: int
    channel_id: int
    message: DigestMessage
    nonce: str
    at: datetime


@dataclass
class FakeDiscord:
    """Channels and messages as Discord keeps them, across "restarts" of the bot.

    Enforces the message limits (a violation fails the test, as Discord's 400 would), answers a
    repeated nonce within :data:`NONCE_WINDOW` with the message it already has, and can be told
    to fail: ``gone`` channels answer 403, ``busy`` makes the next posts answer 429.
    """

    clock: Callable[[], datetime]
    messages: list[Posted] = field(default_factory=list)
    threads: dict[int, int] = field(default_factory=dict)  # thread id -> parent channel
    gone: set[int] = field(default_factory=set)
    no_threads: set[int] = field(default_factory=set)  # channels where threads are refused
    busy: int = 0
    next_id: int = 1000

    def in_channel(self, channel_id: int) -> list[Posted]:
        return [m for m in self.messages if m.channel_id == channel_id]

    def paper_keys(self, channel_id: int | None = None) -> list[str]:
        """Every paper key posted (in a channel and its threads), in order, repeats kept."""
        out: list[str] = []
        for m in self.messages:
            parent = self.threads.get(m.channel_id, m.channel_id)
            if channel_id is None or parent == channel_id:
                out.extend(m.message.paper_keys)
        return out

    def accept(self, channel_id: int, message: DigestMessage, nonce: str) -> int:
        errors, empty = check_message(discord_body(message, nonce), creating=True)
        assert not errors, f"Discord would answer 400: {errors}"
        assert not empty, "Discord refuses an empty message"
        parent = self.threads.get(channel_id, channel_id)
        if parent in self.gone:
            raise ChannelGone(channel_id, 403, "Missing Access")
        if self.busy:
            self.busy -= 1
            raise Retryable("429 Too Many Requests", retry_after=0.0)
        now = self.clock()
        for m in self.messages:
            if m.nonce == nonce and now - m.at <= NONCE_WINDOW:
                return m.id
        self.next_id += 1
        self.messages.append(Posted(self.next_id, channel_id, message, nonce, now))
        return self.next_id


@dataclass
class FakePoster:
    """The bot's side of posting, into a :class:`FakeDiscord`. ``crash_before`` /
    ``crash_after`` kill the process just before Discord gets the n-th post (0-based), or
    just after Discord accepted it (before the bot hears back)."""

    discord: FakeDiscord
    crash_before: int | None = None
    crash_after: int | None = None
    calls: int = 0
    history: bool = True
    lookups: int = 0

    async def post(self, channel_id: int, message: DigestMessage, *, nonce: str) -> int:
        n = self.calls
        self.calls += 1
        if self.crash_before == n:
            raise Crash(f"killed before post {n}")
        message_id = self.discord.accept(channel_id, message, nonce)
        if self.crash_after == n:
            raise Crash(f"killed after post {n}")
        return message_id

    async def find_posted(
        self, channel_id: int, message: DigestMessage, *, since: datetime
    ) -> int | None:
        """Read back the channel's history, as the Discord poster does (it holds no nonces);
        ``history`` False is a bot without Read Message History."""
        self.lookups += 1
        if not self.history:
            return None
        for m in self.discord.in_channel(channel_id):
            if m.at >= since - timedelta(minutes=1) and m.message == message:
                return m.id
        return None

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        if channel_id in self.discord.gone:
            raise ChannelGone(channel_id, 404, "Unknown Channel")
        if channel_id in self.discord.no_threads:
            raise ChannelGone(channel_id, 403, "Missing Permissions")
        self.discord.threads[message_id] = channel_id  # a thread shares its starter's id
        return message_id


@dataclass
class Notices:
    sent: list[tuple[int, str]] = field(default_factory=list)

    async def subscription_paused(self, subscription: Any, reason: str) -> None:
        self.sent.append((subscription.id, reason))


class _ClockedDatetime(datetime):
    """``datetime`` whose ``now()`` reads the test's clock (patched into APScheduler)."""

    clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))  # type: ignore[assignment]

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        moment = cls.clock()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


@contextlib.contextmanager
def apscheduler_on(
    clock: Callable[[], datetime], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """APScheduler's idea of "now" (due jobs, misfire checks) follows ``clock``."""
    import apscheduler.executors.base as executors
    import apscheduler.schedulers.base as schedulers

    clocked = type("ClockedDatetime", (_ClockedDatetime,), {"clock": staticmethod(clock)})
    monkeypatch.setattr(schedulers, "datetime", clocked)
    monkeypatch.setattr(executors, "datetime", clocked)
    yield
