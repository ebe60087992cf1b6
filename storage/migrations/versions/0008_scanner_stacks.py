"""Scanned stacks split by cover sheets, and the inbox of pages no cover sheet claims.

Revision ID: 0008_scanner_stacks
Revises: 0007_users
Create Date: 2026-11-29

A stack's pages are rows of their own (not `pages`): a page belongs to no case until its
cover sheet is found, and one held in the inbox may never belong to one. The inbox is the
`held` state, indexed because clerks list it while stacks keep arriving.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_scanner_stacks"
down_revision = "0007_users"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("center_id", sa.Integer(), sa.ForeignKey("service_centers.id"),
                  nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.UniqueConstraint("created_by", "idempotency_key"),
    )
    op.create_index("ix_stacks_center_id", "stacks", ["center_id"])
    op.create_table(
        "stack_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stacks.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("object_key", sa.String(200), nullable=True),
        sa.Column("format", sa.String(20), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
    )
    op.create_index("ix_stack_files_stack_id", "stack_files", ["stack_id"])
    op.create_table(
        "stack_pages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stacks.id"), nullable=False),
        sa.Column("file_id", sa.String(36), sa.ForeignKey("stack_files.id"), nullable=False),
        sa.Column("index_in_file", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("cover_text", sa.String(200), nullable=True),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("batches.id"), nullable=True),
        sa.Column("reason_code", sa.String(100), nullable=True),
        sa.Column("reason_message", sa.Text(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("file_id", "index_in_file"),
    )
    op.create_index("ix_stack_pages_stack_id", "stack_pages", ["stack_id"])
    op.create_index("ix_stack_pages_case_id", "stack_pages", ["case_id"])
    op.create_index("ix_stack_pages_state", "stack_pages", ["state"])


def downgrade() -> None:
    for table in ("stack_pages", "stack_files", "stacks"):
        op.drop_table(table)
