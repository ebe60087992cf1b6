"""The life of a case: lifecycle state and dates on cases, the case_events record, and the
working-day calendar.

Revision ID: 0004_lifecycle
Revises: 0003_audit_chain
Create Date: 2026-11-29

Existing cases become `received` (or `prechecked` when they already have a report) and take
their receipt date from `acceptance_date`, the only date they have in the service center's
terms.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_lifecycle"
down_revision = "0003_audit_chain"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("state", sa.String(20), nullable=False,
                                   server_default="received"))
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("notice_clock_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("accepted_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("decision", sa.String(20), nullable=True))
        batch.add_column(sa.Column("accepted_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("paused_from", sa.String(20), nullable=True))
        batch.add_column(sa.Column("pauses", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("extension_days", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("outstanding", sa.JSON(), nullable=False,
                                   server_default="[]"))
    op.execute("UPDATE cases SET received_on = acceptance_date, "
               "notice_clock_from = acceptance_date")
    op.execute("UPDATE cases SET state = 'prechecked' WHERE report IS NOT NULL")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("received_on", existing_type=sa.Date(), nullable=False)
        batch.alter_column("notice_clock_from", existing_type=sa.Date(), nullable=False)
        batch.create_index("ix_cases_state", ["state"])

    op.create_table(
        "case_events",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"])

    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
    op.drop_table("calendar_days")
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_table("case_events")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_state")
        for column in ("outstanding", "extension_days", "pauses", "paused_from", "decided_by",
                       "reviewed_by", "accepted_by", "decision", "closed_on", "decided_on",
                       "accepted_on", "notice_clock_from", "received_on", "state"):
            batch.drop_column(column)
