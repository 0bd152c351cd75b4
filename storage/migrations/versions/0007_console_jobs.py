"""apscheduler_console_jobs: the console's scheduler keeps its jobs apart from the Discord bot's.

A console started on the bot's database (no DISCORD_TOKEN set) runs only its own subscriptions,
under a lease of its own (bot/digests/scheduler.py, CONSOLE_LEASE_NAME), so it needs a job table
of its own too: sharing apscheduler_jobs would have it run, or drop, the bot's jobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # APScheduler 3's SQLAlchemyJobStore table, exactly as it would create it itself.
    op.create_table(
        "apscheduler_console_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_apscheduler_console_jobs_next_run_time",
        "apscheduler_console_jobs",
        ["next_run_time"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_apscheduler_console_jobs_next_run_time", table_name="apscheduler_console_jobs"
    )
    op.drop_table("apscheduler_console_jobs")
