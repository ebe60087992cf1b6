"""Service centers own cases and keys; keys get expiry, last use, declared purposes and a
rotation link; cases get the clerk handling them and the reviewer they are routed to;
batches the key that uploaded them (the key their assessment's lookups are audited with).

Revision ID: 0006_centers
Revises: 0005_notices_outbox
Create Date: 2026-11-29

A single "default" center (id 1) is created here and every existing case and key is put
in it, so an installation with one center notices nothing. A key with `center_id` NULL is
a global admin (only admins may be global: `storage.apikeys` enforces it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006_centers"
down_revision = "0005_notices_outbox"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
DEFAULT_CENTER_ID = 1


def upgrade() -> None:
    centers = op.create_table(
        "service_centers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=True),  # 行政区划代码
        sa.Column("created_at", TZ, nullable=False),
    )
    op.bulk_insert(centers, [{"id": DEFAULT_CENTER_ID, "code": "default",
                              "name": "政务服务中心", "region_code": None,
                              "created_at": datetime.now(UTC)}])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("center_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purposes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("expires_at", TZ, nullable=True))
        batch.add_column(sa.Column("last_used_at", TZ, nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_api_keys_center", "service_centers", ["center_id"], ["id"])
        batch.create_index("ix_api_keys_center_id", ["center_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("center_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("handler_key_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewer_key_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("uploaded_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_batches_uploaded_by", "api_keys", ["uploaded_by"], ["id"])
    op.execute(sa.text(f"UPDATE api_keys SET center_id = {DEFAULT_CENTER_ID}"))
    op.execute(sa.text(f"UPDATE cases SET center_id = {DEFAULT_CENTER_ID}, "
                       "handler_key_id = created_by"))
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("center_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_cases_center", "service_centers", ["center_id"], ["id"])
        batch.create_foreign_key("fk_cases_handler", "api_keys", ["handler_key_id"], ["id"])
        batch.create_foreign_key("fk_cases_reviewer", "api_keys", ["reviewer_key_id"], ["id"])
        batch.create_index("ix_cases_center_id", ["center_id"])


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_constraint("fk_batches_uploaded_by", type_="foreignkey")
        batch.drop_column("uploaded_by")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_center_id")
        batch.drop_constraint("fk_cases_reviewer", type_="foreignkey")
        batch.drop_constraint("fk_cases_handler", type_="foreignkey")
        batch.drop_constraint("fk_cases_center", type_="foreignkey")
        batch.drop_column("reviewer_key_id")
        batch.drop_column("handler_key_id")
        batch.drop_column("center_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_center_id")
        batch.drop_constraint("fk_api_keys_center", type_="foreignkey")
        for column in ("replaced_by", "last_used_at", "expires_at", "purposes", "center_id"):
            batch.drop_column(column)
    op.drop_table("service_centers")
