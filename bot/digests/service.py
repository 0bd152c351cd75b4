"""Running digests: build one, and deliver a due one exactly once (claim, post, commit).

The poster (:class:`DigestPoster`) is whatever front end posts messages: the Discord client, the
console, a fake in tests. Delivery goes:

1. **claim** — the digest of the period (``Schedule.period_key``) is built and stored with the
   exact messages to post, unique per subscription and period; a second claim (a retry, the
   other process, the hour repeated when clocks go back) gets the first one back;
2. **post** — part by part, each with a nonce derived from the claim (``Delivery.part_nonce``),
   and each recorded with its papers marked delivered in one transaction as soon as Discord
   answers;
3. **commit** — the delivery, all its papers, and the subscription's window, in one transaction.

A restart after a crash anywhere resumes unfinished deliveries: parts already recorded are not
posted again; a part posted but not recorded is found in the channel's history
(``DigestPoster.find_posted``) and recorded, or else posted again with the same nonce, which
Discord answers with the message it already has (within its nonce window). docs/digests.md has
the whole argument, and what remains outside Discord's guarantee.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Literal, Protocol, TypeAlias, TypeVar

from bot.digests.pending import PendingMatcher
from bot.domain.digest import (
    Digest,
    DigestBuilder,
    DigestMessage,
    DigestOptions,
    explain_empty,
    without_thread,
)
from bot.domain.matching import TopicIndex
from bot.domain.paper_notes import PaperNotes, take_notes
from bot.domain.papers import Paper
from bot.domain.query import Query
from bot.domain.subscriptions import Delivery, NotFound, Subscription, SubscriptionStore
from bot.domain.topics import Topic

log = logging.getLogger(__name__)

__all__ = [
    "ChannelGone",
    "DigestPoster",
    "DigestService",
    "PauseNotifier",
    "Retryable",
    "RunResult",
    "make_nonce",
]

Outcome: TypeAlias = Literal[
    "posted",  # the digest went out (or finished going out) now
    "empty",  # nothing to post this period (and no notice asked for)
    "already_done",  # this period's digest was delivered before
    "in_progress",  # another process is posting this period's digest right now
    "paused",  # the channel is gone: the subscription is paused
    "skipped_paused",  # the subscription was paused already
    "retry_later",  # Discord kept failing (429/5xx); the claim stays, a later run resumes it
    "missing",  # no such subscription (removed since the job was scheduled)
]
T = TypeVar("T")


class ChannelGone(Exception):
    """Discord answered 403 or 404 for the channel: the bot was removed, lost its permission,
    or the channel was deleted. Posting again will not help."""

    def __init__(self, channel_id: int, status: int, reason: str = "") -> None:
        super().__init__(f"channel {channel_id}: HTTP {status} {reason}".strip())
        self.channel_id = channel_id
        self.status = status
        self.reason = reason


class Retryable(Exception):
    """A failure worth retrying with the same nonce: 429, 5xx, a timeout, a lost connection."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DigestPoster(Protocol):
    """Posts digest messages. Implementations send ``nonce`` with ``enforce_nonce`` (Discord
    then returns the existing message for a repeated nonce), raise :class:`ChannelGone` for
    403/404 and :class:`Retryable` for 429/5xx once their own retries are spent."""

    async def post(self, channel_id: int, message: DigestMessage, *, nonce: str) -> int:
        """Post ``message`` in the channel (or thread); returns the message id."""
        ...

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        """A thread on the message (the existing one if it has one); returns its id."""
        ...

    async def find_posted(
        self, channel_id: int, message: DigestMessage, *, since: datetime
    ) -> int | None:
        """The id of ``message`` if the bot posted it in the channel (or thread) since
        ``since``, found in the channel's history; None when it is not there or the history
        cannot be read. Never raises: the nonce still guards the post that follows."""
        ...


class PauseNotifier(Protocol):
    async def subscription_paused(self, subscription: Subscription, reason: str) -> None:
        """Tell the guild (another channel the bot can post in), where possible."""
        ...


@dataclass(frozen=True, slots=True)
class RunResult:
    subscription_id: int
    outcome: Outcome
    period_key: str | None = None
    message_ids: tuple[int, ...] = ()
    papers: int = 0
    detail: str = ""


def make_nonce(subscription_id: int, period_key: str) -> str:
    """The nonce base of a subscription's digest for a period: 23 characters, so with a
    two-digit part number it stays within Discord's 25."""
    digest = hashlib.sha256(f"paperbot|{subscription_id}|{period_key}".encode()).hexdigest()
    return "pb" + digest[:21]


@dataclass(frozen=True, slots=True)
class Scope:
    """The servers whose subscriptions a process runs by itself (schedules, recovery, arrivals).

    The console runs its own server's (``only``), the Discord bot every other one, so a database
    both use never has one's digests printed or posted, and marked delivered, by the other.
    ``/digest now`` is asked for by a server and is not limited by it.
    """

    guild_id: int
    only: bool  # True: that server's subscriptions only; False: every server's but its

    def covers(self, guild_id: int) -> bool:
        return (guild_id == self.guild_id) == self.only


def default_holder() -> str:
    """This process, as lease and claim holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class DigestService:
    """Builds and delivers digests. One per process, built at the entry point."""

    def __init__(
        self,
        store: SubscriptionStore,
        poster: DigestPoster,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        options: DigestOptions | None = None,
        holder: str | None = None,
        notifier: PauseNotifier | None = None,
        attempts: int = 4,
        backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stale_after: timedelta = timedelta(minutes=2),
        extra_holidays: Iterable[date] = (),
        scope: Scope | None = None,
    ) -> None:
        self.store = store
        self.scope = scope
        self.poster = poster
        self.clock = clock
        self.options = options or DigestOptions()
        self.holder = holder or default_holder()
        self.notifier = notifier
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.stale_after = stale_after
        self.extra_holidays = tuple(extra_holidays)
        self._locks: dict[int, asyncio.Lock] = {}
        self._builder = DigestBuilder(self.options)
        self._built = 0
        # Which papers each subscription has pending: matched for all topics at once.
        self.pending = PendingMatcher(store)
        self._arrivals_index: tuple[tuple[tuple[int, Query], ...], TopicIndex[int]] | None = None

    # -- building --------------------------------------------------------------------------------

    def builder(self) -> DigestBuilder:
        """A builder whose per-paper caches are shared by the digests of one period (renewed
        now and then so memory stays bounded)."""
        self._built += 1
        if self._built > 5000:
            self._builder = DigestBuilder(self.options)
            self._built = 0
        return self._builder

    def build(self, subscription: Subscription, now: datetime | None = None) -> Digest:
        """What the subscription's next digest holds now (nothing is claimed or posted)."""
        moment = now or self.clock()
        papers = self.pending.pending(subscription, moment)
        return self._digest(subscription.topic, papers, subscription, moment)

    def _digest(
        self, topic: Topic, papers: list[Paper], subscription: Subscription | None, now: datetime
    ) -> Digest:
        reason = None
        notify = False
        if subscription is not None and not papers:
            start, end = subscription.schedule.window(now)
            start = max(start, min(subscription.window_start, end))
            reason = explain_empty(
                start,
                end,
                self.store.count_added(start, end),
                extra_holidays=self.extra_holidays,
            )
            # "As papers arrive" posts only when there are papers: a notice every hour is noise.
            notify = subscription.notify_empty and subscription.schedule.kind != "asap"
        builder = self.builder()
        self._give_notes(builder, papers)
        return builder.build(topic, papers, now=now, empty_reason=reason, notify_empty=notify)

    # -- papers' notes ---------------------------------------------------------------------------

    def _stored_notes(self, papers: Sequence[Paper]) -> tuple[dict[str, PaperNotes], list[Paper]]:
        """The stored notes of ``papers`` that still fit them, and the papers that need new
        ones (none stored, or taken from another abstract or with another TL;DR length)."""
        stored = self.store.paper_notes(p.key for p in papers)
        chars = self.options.tldr_chars
        fitting: dict[str, PaperNotes] = {}
        missing: list[Paper] = []
        for paper in papers:
            notes = stored.get(paper.key)
            if notes is not None and notes.fits(paper, chars):
                fitting[paper.key] = notes
            else:
                missing.append(paper)
        return fitting, missing

    def _save_notes(self, notes: dict[str, PaperNotes]) -> None:
        # Notes are a cache of work on the abstract: failing to keep them costs time, not data.
        try:
            self.store.save_paper_notes(notes)
        except Exception:
            log.warning("could not store the notes of %d papers", len(notes), exc_info=True)

    def _give_notes(self, builder: DigestBuilder, papers: Sequence[Paper]) -> None:
        """Hand the builder the stored notes of the papers it has none of; those missing are
        taken now, and stored for the next digest."""
        unknown = [p for p in papers if not builder.knows(p)]
        if not unknown:
            return
        fitting, missing = self._stored_notes(unknown)
        for paper in unknown:
            notes = fitting.get(paper.key)
            if notes is not None:
                builder.remember(paper, notes)
        if missing:
            self._save_notes({p.key: builder.notes(p) for p in missing})

    def note_added(self, start: datetime, end: datetime) -> int:
        """Take and store the notes of the papers that entered the catalog in ``[start, end]``
        and have none that fit, so that digests find them ready (after an ingest). Returns how
        many were taken."""
        _, missing = self._stored_notes(self.store.added_between(start, end))
        chars = self.options.tldr_chars
        self._save_notes({p.key: take_notes(p, tldr_chars=chars) for p in missing})
        return len(missing)

    def preview(
        self,
        guild_id: int,
        topic_name: str,
        *,
        channel_id: int | None = None,
        now: datetime | None = None,
    ) -> Digest:
        """What the topic's next digest would hold: for its subscription in ``channel_id`` (or
        its first one in the guild), else what a new subscription's first digest would hold
        (papers that entered the catalog in the look-back period and match)."""
        moment = now or self.clock()
        topic = self.store.get_topic(guild_id, topic_name)
        if topic is None:
            raise NotFound(f"this server has no topic called {topic_name}")
        subs = self.store.subscriptions_for_topic(guild_id, topic.name)
        if channel_id is not None:
            subs = [s for s in subs if s.channel_id == channel_id] or subs
        if subs:
            return self.build(subs[0], moment)
        return self.preview_new(topic, moment)

    def preview_new(self, topic: Topic, now: datetime | None = None) -> Digest:
        """What a new subscription to ``topic`` would get first: the papers that entered the
        catalog in the look-back period and match (a ready-made topic not added yet, too)."""
        moment = now or self.clock()
        start = moment - self.store.lookback()
        papers = self.store.matching_added(topic.query, start, moment, moment)
        reason = None
        if not papers:
            added = self.store.count_added(start, moment)
            reason = explain_empty(start, moment, added, extra_holidays=self.extra_holidays)
        builder = self.builder()
        self._give_notes(builder, papers)
        return builder.build(topic, papers, now=moment, empty_reason=reason)

    # -- delivering ------------------------------------------------------------------------------

    def is_delivering(self, subscription_id: int) -> bool:
        """Whether this process is running the subscription's delivery right now."""
        lock = self._locks.get(subscription_id)
        return lock is not None and lock.locked()

    def _lock(self, subscription_id: int) -> asyncio.Lock:
        lock = self._locks.get(subscription_id)
        if lock is None:
            lock = self._locks[subscription_id] = asyncio.Lock()
        return lock

    def _may_resume(self, delivery: Delivery, now: datetime) -> bool:
        # Ours (a run of this process that stopped), or left long enough by another process
        # that it is surely dead (the scheduler lease moved) rather than still posting.
        return delivery.holder == self.holder or now - delivery.claimed_at >= self.stale_after

    async def run_subscription(
        self,
        subscription_id: int,
        *,
        now: datetime | None = None,
        period_key: str | None = None,
    ) -> RunResult:
        """Deliver the subscription's digest for the period ``now`` falls in (or
        ``period_key``), once: finishing an interrupted delivery first, posting nothing when
        the period is already delivered."""
        async with self._lock(subscription_id):
            return await self._run(subscription_id, now or self.clock(), period_key)

    async def _run(self, subscription_id: int, now: datetime, key: str | None) -> RunResult:
        sub = self.store.get_subscription(subscription_id)
        if sub is None:
            return RunResult(subscription_id, "missing")
        if sub.paused:
            return RunResult(sub.id, "skipped_paused", detail=sub.pause_reason or "")
        for pending in self.store.unfinished_deliveries(sub.id):
            if not self._may_resume(pending, now):
                return RunResult(sub.id, "in_progress", pending.period_key)
            result = await self._deliver(sub, pending)
            if result.outcome != "posted":
                return result
            log.info(
                "finished the interrupted digest %s of subscription %d", pending.period_key, sub.id
            )
        key = key or sub.schedule.period_key(now)
        if self.store.get_delivery(sub.id, key) is not None:
            return RunResult(sub.id, "already_done", key)
        digest = self._digest(sub.topic, self.pending.pending(sub, now), sub, now)
        if not digest.messages:
            reason = digest.empty_reason.text if digest.empty_reason else ""
            return RunResult(sub.id, "empty", key, detail=reason)
        delivery = self.store.claim(
            sub,
            key,
            nonce=make_nonce(sub.id, key),
            messages=digest.messages,
            cutoff=now,
            holder=self.holder,
        )
        if not delivery.created:
            if delivery.finished:
                return RunResult(sub.id, "already_done", key)
            if not self._may_resume(delivery, now):
                return RunResult(sub.id, "in_progress", key)
        return await self._deliver(sub, delivery)

    async def _deliver(self, sub: Subscription, delivery: Delivery) -> RunResult:
        channel = sub.channel_id
        thread = delivery.thread_id
        threaded = sub.use_thread and len(delivery.messages) > 1
        # Resumed, the first part not recorded may have reached Discord just before the crash
        # (or the failure) that stopped the last run; no later part can have.
        look = not delivery.created
        for part, message in enumerate(delivery.messages):
            if delivery.message_ids[part] is not None:
                continue
            target = channel
            try:
                if threaded and part > 0:
                    if thread is None:
                        thread = await self._start_thread(sub, delivery)
                        delivery = self.store.record_thread(delivery, thread)
                    target = thread
                    if thread == channel:  # no thread could be started: say so where it goes on
                        message = without_thread(message, self.options.limits)
                message_id = None
                if look:
                    # Discord's nonce catches a second post for a few minutes only; the
                    # channel's history catches it later too.
                    look = False
                    message_id = await self.poster.find_posted(
                        target, message, since=delivery.claimed_at
                    )
                    if message_id is not None:
                        log.info(
                            "digest %s of subscription %d: message %d of %d was posted already "
                            "(%d); not posting it again",
                            delivery.period_key,
                            sub.id,
                            part + 1,
                            len(delivery.messages),
                            message_id,
                        )
                if message_id is None:
                    nonce = delivery.part_nonce(part)
                    message_id = await self._call(
                        partial(self.poster.post, target, message, nonce=nonce)
                    )
            except ChannelGone as exc:
                return await self._gone(sub, delivery, exc)
            except Retryable as exc:
                log.warning(
                    "digest %s of subscription %d: Discord kept failing (%s); will resume later",
                    delivery.period_key,
                    sub.id,
                    exc,
                )
                return RunResult(sub.id, "retry_later", delivery.period_key, detail=str(exc))
            delivery = self.store.record_part(delivery, part, message_id, thread_id=thread)
        delivery = self.store.record_posted(delivery)
        ids = tuple(i for i in delivery.message_ids if i is not None)
        log.info(
            "digest %s of subscription %d (%s in channel %d): %d messages, %d papers",
            delivery.period_key,
            sub.id,
            sub.topic.name,
            channel,
            len(ids),
            len(delivery.paper_keys),
        )
        return RunResult(sub.id, "posted", delivery.period_key, ids, len(delivery.paper_keys))

    async def _start_thread(self, sub: Subscription, delivery: Delivery) -> int:
        """The thread the rest of a long digest goes in; the channel itself when Discord refuses
        a thread (no permission to create threads there) while the channel still takes posts:
        its first message went out moments ago. A channel that is gone shows on the next post."""
        first = delivery.message_ids[0]
        assert first is not None
        name = f"{sub.topic.name} · {delivery.claimed_at.date().isoformat()}"
        try:
            return await self._call(partial(self.poster.start_thread, sub.channel_id, first, name))
        except ChannelGone as exc:
            log.warning(
                "subscription %d (%s): Discord refused a thread in channel %d (%d%s); the digest "
                "continues in the channel",
                sub.id,
                sub.topic.name,
                sub.channel_id,
                exc.status,
                f": {exc.reason}" if exc.reason else "",
            )
            return sub.channel_id

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await fn()
            except Retryable as exc:
                if attempt == self.attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else self.backoff**attempt
                await self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _gone(self, sub: Subscription, delivery: Delivery, exc: ChannelGone) -> RunResult:
        what = "is gone" if exc.status == 404 else "cannot be posted in any more"
        reason = (
            f"channel {exc.channel_id} {what} (Discord answered {exc.status}"
            f"{': ' + exc.reason if exc.reason else ''}); subscribe again to resume"
        )
        self.store.abandon(delivery, reason)
        self.store.pause(sub.id, reason)
        log.warning("subscription %d (%s) paused: %s", sub.id, sub.topic.name, reason)
        if self.notifier is not None:
            try:
                await self.notifier.subscription_paused(sub, reason)
            except Exception:  # the pause stands whether or not anyone could be told
                log.exception("could not tell guild %d about the paused subscription", sub.guild_id)
        return RunResult(sub.id, "paused", delivery.period_key, detail=reason)

    # -- entry points ----------------------------------------------------------------------------

    async def run_now(self, guild_id: int, topic_name: str) -> list[RunResult]:
        """``/digest now``: the topic's digest to each of its channels in the guild at once,
        claimed and committed like a scheduled one (its own period key)."""
        subs = self.store.subscriptions_for_topic(guild_id, topic_name)
        if not subs:
            raise NotFound(f"no channel in this server subscribes to {topic_name}")
        now = self.clock()
        key = "now:" + now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return [await self.run_subscription(s.id, now=now, period_key=key) for s in subs]

    def covers(self, subscription: Subscription) -> bool:
        """Whether this process runs the subscription by itself (see :class:`Scope`)."""
        return self.scope is None or self.scope.covers(subscription.guild_id)

    async def recover(self) -> list[RunResult]:
        """Finish the deliveries a crash or an outage interrupted (at start-up), of the
        subscriptions this process runs."""
        results: list[RunResult] = []
        seen: set[int] = set()
        for delivery in self.store.unfinished_deliveries():
            if delivery.subscription_id in seen:
                continue
            seen.add(delivery.subscription_id)
            async with self._lock(delivery.subscription_id):
                sub = self.store.get_subscription(delivery.subscription_id)
                if sub is None or not self.covers(sub):
                    continue
                if sub.paused:
                    self.store.abandon(delivery, sub.pause_reason or "subscription paused")
                    continue
                now = self.clock()
                for pending in self.store.unfinished_deliveries(sub.id):
                    if not self._may_resume(pending, now):
                        results.append(RunResult(sub.id, "in_progress", pending.period_key))
                        break
                    result = await self._deliver(sub, pending)
                    results.append(result)
                    if result.outcome != "posted":
                        break
        return results

    def with_news(self, subscriptions: list[Subscription], now: datetime) -> list[Subscription]:
        """Those of ``subscriptions`` with something pending, found by matching the papers of
        their windows against all their topics at once (:class:`TopicIndex`)."""
        if not subscriptions:
            return []
        start = min(s.window_start for s in subscriptions)
        papers = self.store.added_between(start, now)
        if not papers:
            return []
        wanted = tuple((s.id, s.topic.query) for s in subscriptions)
        if self._arrivals_index is None or self._arrivals_index[0] != wanted:
            # Built again only when the subscriptions or their topics changed.
            self._arrivals_index = (wanted, TopicIndex(wanted))
        matched = self._arrivals_index[1].match_many(papers, now=now)
        out: list[Subscription] = []
        delivered: dict[int, set[str]] = {}
        for sub in subscriptions:
            found = [
                p
                for p in matched.get(sub.id, [])
                if p.added_at is None or p.added_at >= sub.window_start
            ]
            if not found:
                continue
            seen = delivered.get(sub.channel_id)
            if seen is None:
                seen = delivered[sub.channel_id] = self.store.delivered_keys(sub.channel_id)
            if any(p.key not in seen for p in found):
                out.append(sub)
        return out

    async def run_arrivals(self, now: datetime | None = None) -> list[RunResult]:
        """After an ingest: the "as papers arrive" subscriptions with new papers, each at most
        once per its interval (the period key of the current window)."""
        moment = now or self.clock()
        asap = [
            s
            for s in self.store.active_subscriptions()
            if s.schedule.kind == "asap" and self.covers(s)
        ]
        return [await self.run_subscription(s.id, now=moment) for s in self.with_news(asap, moment)]
