"""paper_notes: each paper's TL;DR and candidate phrases, taken once for every digest.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_notes",
        sa.Column(
            "paper_id",
            sa.Integer,
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_notes")
