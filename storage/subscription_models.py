"""Tables of topics, subscriptions and digest deliveries (migration 0003 creates them).

Registered in :data:`storage.models.Base.metadata` by importing this module (storage.subscriptions
does; so does tests/conftest.py, so the test truncation covers them). The database enforces the
two rules that make delivery exactly-once:

* ``deliveries``: UNIQUE (subscription_id, period_key) — a digest is claimed once per period;
* ``delivered_papers``: PRIMARY KEY (channel_id, paper_key) — a paper (any version, cross-list or
  source of it: one catalog key) reaches a channel once.

``apscheduler_jobs`` is APScheduler's own SQLAlchemyJobStore table, declared here with exactly its
columns so that the migration creates it (the job store then finds it and creates nothing) and the
tests' truncation knows it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime

APSCHEDULER_TABLE = "apscheduler_jobs"


class TopicRow(Base):
    """A guild's saved query."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("guild_id", "name", name="uq_topics_guild_name"),)


class SubscriptionRow(Base):
    """A topic delivered to a channel on a schedule."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    schedule_kind: Mapped[str] = mapped_column(String(10))  # daily, weekly, asap
    schedule_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM
    schedule_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    schedule_interval_min: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    use_thread: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pause_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Papers that entered the catalog at or after this instant are considered for the next
    # digest (the look-back of a new subscription; advanced, with a margin, as digests commit).
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("channel_id", "topic_id", name="uq_subscriptions_channel_topic"),
        Index("ix_subscriptions_guild", "guild_id"),
        Index("ix_subscriptions_topic", "topic_id"),
    )


class DeliveryRow(Base):
    """One claimed digest: the messages to post, which are posted, and its state."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # claimed, posted, committed, abandoned
    nonce: Mapped[str] = mapped_column(String(25))
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Papers that entered the catalog up to this instant were considered.
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)  # JSON list of DigestMessage
    message_ids: Mapped[str] = mapped_column(Text)  # JSON list, one per part, null until posted
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_deliveries_period"),
        Index("ix_deliveries_status", "status"),
    )


class DeliveredPaperRow(Base):
    """A paper delivered to a channel: at most once, by the primary key."""

    __tablename__ = "delivered_papers"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    paper_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SchedulerLeaseRow(Base):
    """Which process runs the scheduler, until when (renewed while it lives)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# APScheduler 3's SQLAlchemyJobStore table, column for column (apscheduler/jobstores/sqlalchemy.py).
apscheduler_jobs = Table(
    APSCHEDULER_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
