"""Notices kept as records, their numbering, the applicant's query code, and the outbox of
case events for other systems.

Revision ID: 0005_notices_outbox
Revises: 0004_lifecycle
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_notices_outbox"
down_revision = "0004_lifecycle"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("center", sa.String(50), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("issued_by_key", sa.Integer(), nullable=True),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("pdf_key", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.UniqueConstraint("center", "year", "number"),
    )
    op.create_index("ix_notices_case_id", "notices", ["case_id"])
    op.create_table(
        "notice_counters",
        sa.Column("center", sa.String(50), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("query_code_hash", sa.String(200), nullable=True))
    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_events_case_id", "outbox_events", ["case_id"])
    op.create_index("ix_outbox_events_due", "outbox_events", ["delivered_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox_events")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("query_code_hash")
    op.drop_table("notice_counters")
    op.drop_table("notices")
