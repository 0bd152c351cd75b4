"""Topics, subscriptions, digest deliveries, delivered papers, the scheduler lease, and the
APScheduler job table.

The two constraints that make delivery exactly-once live here: UNIQUE (subscription_id,
period_key) on deliveries and PRIMARY KEY (channel_id, paper_key) on delivered_papers. See
docs/digests.md.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("guild_id", "name", name="uq_topics_guild_name"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column(
            "topic_id",
            sa.Integer,
            sa.ForeignKey("topics.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("schedule_kind", sa.String(10), nullable=False),
        sa.Column("schedule_time", sa.String(5)),
        sa.Column("schedule_weekday", sa.Integer),
        sa.Column("schedule_interval_min", sa.Integer),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("use_thread", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notify_empty", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("pause_reason", sa.Text),
        sa.Column("paused_at", UTCDateTime()),
        sa.Column("pause_notified_at", UTCDateTime()),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel_id", "topic_id", name="uq_subscriptions_channel_topic"),
    )
    op.create_index("ix_subscriptions_guild", "subscriptions", ["guild_id"])
    op.create_index("ix_subscriptions_topic", "subscriptions", ["topic_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("nonce", sa.String(25), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("cutoff", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("message_ids", sa.Text, nullable=False),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("posted_at", UTCDateTime()),
        sa.Column("committed_at", UTCDateTime()),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("subscription_id", "period_key", name="uq_deliveries_period"),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.create_table(
        "delivered_papers",
        sa.Column("channel_id", sa.BigInteger, primary_key=True),
        sa.Column("paper_key", sa.String(200), primary_key=True),
        sa.Column("subscription_id", sa.Integer),
        sa.Column("delivery_id", sa.Integer),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    # APScheduler 3's SQLAlchemyJobStore table, exactly as it would create it itself.
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    op.drop_table("scheduler_lease")
    op.drop_table("delivered_papers")
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_topic", table_name="subscriptions")
    op.drop_index("ix_subscriptions_guild", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("topics")
