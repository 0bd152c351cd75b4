"""Subscriptions and deliveries: the records the digest service works with, and the store port.

A :class:`Subscription` ties a guild's topic to a channel on a
:class:`~bot.domain.schedules.Schedule`. A :class:`Delivery` is one digest for one period of one
subscription: claimed (unique per subscription and period) before anything is posted, holding the
exact messages to post, then posted part by part, then committed.
storage.subscriptions.SqlSubscriptions implements :class:`SubscriptionStore` on SQLite and
PostgreSQL; docs/digests.md explains the states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeAlias

from bot.domain.digest import DigestMessage
from bot.domain.paper_notes import PaperNotes
from bot.domain.papers import Paper
from bot.domain.query import Query
from bot.domain.schedules import Schedule
from bot.domain.topics import Topic

__all__ = [
    "AlreadyExists",
    "Delivery",
    "DeliveryStatus",
    "NotFound",
    "SubscribeOutcome",
    "Subscription",
    "SubscriptionStore",
]

DeliveryStatus: TypeAlias = Literal["claimed", "posted", "committed", "abandoned"]
SubscribeOutcome: TypeAlias = Literal["created", "updated", "resumed"]


class NotFound(LookupError):
    """No such topic or subscription in this guild; the message is written for people."""


class AlreadyExists(ValueError):
    """A topic of that name exists in this guild already."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """A topic delivered to a channel. Papers that entered the catalog at or after
    ``window_start`` and were never delivered to the channel are pending for it."""

    id: int
    guild_id: int
    channel_id: int
    topic: Topic
    schedule: Schedule
    window_start: datetime
    use_thread: bool = False
    notify_empty: bool = False
    paused: bool = False
    pause_reason: str | None = None
    paused_at: datetime | None = None
    pause_notified: bool = False
    created_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_delivered_at: datetime | None = None

    @property
    def job_id(self) -> str:
        """The scheduler's job id for this subscription."""
        return f"digest:{self.id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed digest. ``messages`` are exactly what is (or will be) posted, frozen at the
    claim; ``message_ids[i]`` is the id Discord gave part ``i`` (None until posted)."""

    id: int
    subscription_id: int
    period_key: str
    status: DeliveryStatus
    nonce: str
    holder: str
    claimed_at: datetime
    cutoff: datetime
    messages: tuple[DigestMessage, ...]
    message_ids: tuple[int | None, ...]
    thread_id: int | None = None
    posted_at: datetime | None = None
    committed_at: datetime | None = None
    error: str | None = None
    created: bool = False  # True only on the result of the claim() call that inserted it

    @property
    def paper_keys(self) -> tuple[str, ...]:
        return tuple(k for m in self.messages for k in m.paper_keys)

    @property
    def finished(self) -> bool:
        return self.status in ("committed", "abandoned")

    def part_nonce(self, part: int) -> str:
        """The nonce of part ``part``: deterministic, at most 25 characters (Discord's limit)."""
        return f"{self.nonce}{part:02d}"


class SubscriptionStore(Protocol):
    """What the digest service needs from storage (storage.subscriptions.SqlSubscriptions)."""

    def lookback(self) -> timedelta:
        """How far back a new subscription's first digest reaches."""
        ...

    def get_topic(self, guild_id: int, name: str) -> Topic | None: ...

    def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    def subscriptions_for_topic(self, guild_id: int, topic_name: str) -> list[Subscription]: ...

    def active_subscriptions(self) -> list[Subscription]: ...

    def pause(self, subscription_id: int, reason: str) -> None: ...

    def pending_papers(self, subscription: Subscription, now: datetime) -> list[Paper]: ...

    def pending_stamps(
        self, subscription: Subscription, now: datetime
    ) -> list[tuple[str, datetime]]:
        """The keys of the papers :meth:`pending_papers` considers before matching, each with
        when its row last changed."""
        ...

    def papers(self, keys: Sequence[str]) -> list[Paper]: ...

    def added_between(self, start: datetime, end: datetime) -> list[Paper]: ...

    def count_added(self, start: datetime, end: datetime) -> int: ...

    def matching_added(
        self, query: Query, start: datetime, end: datetime, now: datetime
    ) -> list[Paper]: ...

    def recent_count(self, query: Query, now: datetime, days: int = 7) -> tuple[int, bool]: ...

    def delivered_keys(self, channel_id: int) -> set[str]: ...

    def paper_notes(self, keys: Iterable[str]) -> dict[str, PaperNotes]:
        """The stored notes of those of ``keys`` that have some (bot.domain.paper_notes)."""
        ...

    def save_paper_notes(self, notes: Mapping[str, PaperNotes]) -> int: ...

    def claim(
        self,
        subscription: Subscription,
        period_key: str,
        *,
        nonce: str,
        messages: Sequence[DigestMessage],
        cutoff: datetime,
        holder: str,
    ) -> Delivery: ...

    def get_delivery(self, subscription_id: int, period_key: str) -> Delivery | None: ...

    def unfinished_deliveries(self, subscription_id: int | None = None) -> list[Delivery]: ...

    def record_part(
        self, delivery: Delivery, part: int, message_id: int, *, thread_id: int | None = None
    ) -> Delivery: ...

    def record_thread(self, delivery: Delivery, thread_id: int) -> Delivery: ...

    def record_posted(self, delivery: Delivery) -> Delivery: ...

    def abandon(self, delivery: Delivery, reason: str) -> Delivery: ...
