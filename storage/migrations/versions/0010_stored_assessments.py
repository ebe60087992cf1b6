"""Stored assessments: one home for a case's report.

Revision ID: 0010_stored_assessments
Revises: 0009_field_corrections
Create Date: 2026-11-29

A case's report lived in three places: `cases.report` (overwritten by every batch),
recomputed on every read, and partly mirrored in `documents` rows nothing read. Now each
assessment is a row of `assessments` (the report, the catalog version and the inputs it
saw, when and why), added when the case's inputs change and served as stored. Reports
already stored on cases move over with an empty catalog version, so the next start-up
assesses them again with the current catalog. The `documents` mirror is dropped: the
stored report holds the documents, and nothing read the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_stored_assessments"
down_revision = "0009_field_corrections"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("catalog_version", sa.String(64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("inputs_digest", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_assessments_case", "assessments", ["case_id", "id"])

    cases = sa.table("cases", sa.column("id", sa.String()), sa.column("status", sa.String()),
                     sa.column("report", sa.JSON()), sa.column("report_updated_at", TZ),
                     sa.column("created_at", TZ))
    assessments = sa.table(
        "assessments", sa.column("case_id", sa.String()), sa.column("report", sa.JSON()),
        sa.column("status", sa.String()), sa.column("catalog_version", sa.String()),
        sa.column("inputs", sa.JSON()), sa.column("inputs_digest", sa.String()),
        sa.column("reason", sa.String()), sa.column("actor", sa.String()),
        sa.column("created_at", TZ))
    conn = op.get_bind()
    rows = conn.execute(sa.select(cases.c.id, cases.c.status, cases.c.report,
                                  cases.c.report_updated_at, cases.c.created_at)
                        .where(cases.c.report.is_not(None))).all()
    if rows:
        conn.execute(assessments.insert(), [
            {"case_id": r.id, "report": r.report,
             "status": str((r.report or {}).get("status", r.status)),
             "catalog_version": "", "inputs": {}, "inputs_digest": "", "reason": "migrated",
             "actor": "migration 0010", "created_at": r.report_updated_at or r.created_at}
            for r in rows])

    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of `cases` would
    # drop the table that assessments, pages and certificates now reference.
    op.drop_column("cases", "report")
    op.drop_column("cases", "report_updated_at")
    op.drop_index("ix_documents_case_id", table_name="documents")
    op.drop_table("documents")


def downgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("material_type", sa.String(100), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_documents_case_id", "documents", ["case_id"])
    op.add_column("cases", sa.Column("report", sa.JSON(), nullable=True))
    op.add_column("cases", sa.Column("report_updated_at", TZ, nullable=True))
    conn = op.get_bind()
    assessments = sa.table("assessments", sa.column("id", BIG_ID),
                           sa.column("case_id", sa.String()), sa.column("report", sa.JSON()),
                           sa.column("created_at", TZ))
    newest = (sa.select(sa.func.max(assessments.c.id)).group_by(assessments.c.case_id)
              .scalar_subquery())
    latest = conn.execute(sa.select(assessments.c.case_id, assessments.c.report,
                                    assessments.c.created_at)
                          .where(assessments.c.id.in_(newest))).all()
    cases = sa.table("cases", sa.column("id", sa.String()), sa.column("report", sa.JSON()),
                     sa.column("report_updated_at", TZ))
    for case_id, report, at in latest:
        conn.execute(cases.update().where(cases.c.id == case_id)
                     .values(report=report, report_updated_at=at))
    op.drop_index("ix_assessments_case", table_name="assessments")
    op.drop_table("assessments")
