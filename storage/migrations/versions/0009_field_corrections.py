"""Reviewers' corrections of extracted fields.

Revision ID: 0009_field_corrections
Revises: 0008_scanner_stacks
Create Date: 2026-11-29

One row per correction (never updated): the old and the new value, the reason, who and
when. Read by case at every assessment, hence the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_field_corrections"
down_revision = "0008_scanner_stacks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_corrections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("material_type", sa.String(100), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_field_corrections_case_id", "field_corrections", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_field_corrections_case_id", table_name="field_corrections")
    op.drop_table("field_corrections")
