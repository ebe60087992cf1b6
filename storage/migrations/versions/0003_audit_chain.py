"""The audit log becomes a hash chain.

Revision ID: 0003_audit_chain
Revises: 0002
Create Date: 2026-11-29

Every entry gets its position (`seq`, unique, without gaps), the previous entry's hash and
its own (`storage.audit.entry_digest`). Entries written before this revision are chained in
the order of their ids; the append-only triggers are lifted for that one backfill and put
back exactly as migration 0002 made them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_chain"
down_revision = "0002"
branch_labels = None
depends_on = None

_PG_TRIGGER = ("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")


def _backfill() -> None:
    from storage.audit import GENESIS, entry_digest
    from storage.models import AuditEntry

    bind = op.get_bind()
    table = sa.Table("audit_log", sa.MetaData(), autoload_with=bind)
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):
        entry = AuditEntry(**{k: v for k, v in row.items()
                              if k not in ("seq", "prev_hash", "entry_hash")})
        entry.seq = seq
        digest = entry_digest(entry, prev)
        bind.execute(sa.update(table).where(table.c.id == row["id"])
                     .values(seq=seq, prev_hash=prev, entry_hash=digest))
        prev = digest


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
    else:  # SQLite recreates the table below, which drops its triggers anyway
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("entry_hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_audit_log_seq", ["seq"])
    if postgres:
        op.execute(_PG_TRIGGER)
    else:
        op.execute("CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
        op.execute("CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_seq", type_="unique")
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    if postgres:
        op.execute(_PG_TRIGGER)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} "
                       "ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
