"""The name an uploaded file was sent with, escaped for display, beside the normalised one.

Revision ID: 0011_original_filenames
Revises: 0010_stored_assessments
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_original_filenames"
down_revision = "0010_stored_assessments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_files") as batch:
        batch.add_column(sa.Column("original_filename", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_files") as batch:
        batch.drop_column("original_filename")
