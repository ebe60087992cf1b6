"""Certificate store and append-only audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The holder lookup (`holder_id`, `material_type`) is the hot path: other systems ask "which
certificates of these types does this person or company hold" on a store of millions of rows,
so it has a composite index. The audit log refuses UPDATE and DELETE with triggers on both
databases, so "append-only" holds even for code (or people) that bypass the repository.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PG_FORBID = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("material_type", sa.String(64), nullable=False),  # 证照类型代码
        sa.Column("type_name", sa.String(100), nullable=False),  # 证照类型名称
        sa.Column("number", sa.String(200), nullable=False),  # 证照编号
        sa.Column("holder_name", sa.String(200), nullable=False),  # 持证主体
        sa.Column("holder_id", sa.String(64), nullable=False),  # 持证主体代码
        sa.Column("holder_id_type", sa.String(20), nullable=False),  # 持证主体代码类型
        sa.Column("issuer", sa.String(200), nullable=True),  # 颁发机构
        sa.Column("issue_date", sa.Date(), nullable=True),  # 颁证日期
        sa.Column("valid_from", sa.Date(), nullable=True),  # 有效期起始日期
        sa.Column("valid_until", sa.Date(), nullable=True),  # 有效期截止日期; NULL = 长期
        sa.Column("status", sa.String(20), nullable=False),  # valid / expired / revoked
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("source_case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("source_pages", sa.JSON(), nullable=False),
        sa.Column("scan_key", sa.String(200), nullable=True),
        sa.Column("scan_sha256", sa.String(64), nullable=True),
        sa.Column("verification", sa.String(20), nullable=False),  # reviewer / auto
        sa.Column("verified_by", sa.String(200), nullable=False),
        sa.Column("verified_by_key", sa.Integer(), sa.ForeignKey("api_keys.id"),
                  nullable=True),
        sa.Column("verified_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoked_by_key", sa.Integer(), sa.ForeignKey("api_keys.id"),
                  nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_certificates_holder", "certificates", ["holder_id", "material_type"])
    op.create_index("ix_certificates_source_case_id", "certificates", ["source_case_id"])
    op.create_index("ix_certificates_valid_until", "certificates", ["valid_until"])

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("holder_id", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("case_ref", sa.String(200), nullable=True),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_holder", "audit_log", ["holder_id", "at"])
    op.create_index("ix_audit_log_key", "audit_log", ["key_id", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FORBID)
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("certificates")
