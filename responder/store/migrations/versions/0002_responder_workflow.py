"""responder workflow: transfers, consultations, incident scope and clock attributes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jurisdiction_path", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("channel", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("matter_kind", sa.String(length=32), nullable=False, server_default="opinion")
        )
        batch_op.add_column(sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("pending_transfer_to", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_incidents_pending_transfer_to", ["pending_transfer_to"], unique=False)
        batch_op.create_index("ix_incidents_lead_unit", ["lead_unit_id"], unique=False)

    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))

    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("from_unit_id", sa.String(length=64), nullable=False),
        sa.Column("to_unit_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfers_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfers_to_unit_id"), ["to_unit_id"], unique=False)

    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("lead_unit_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultations_incident_id"), ["incident_id"], unique=False)

    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result", sa.String(length=200), nullable=True))

    # The checker looks for open clocks by warn time too.
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index("ix_deadlines_status_warn", ["status", "warn_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.drop_column("result")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index("ix_deadlines_status_warn")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultations_incident_id"))
    op.drop_table("consultations")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_to_unit_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_incident_id"))
    op.drop_table("transfers")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("basis")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_lead_unit")
        batch_op.drop_index("ix_incidents_pending_transfer_to")
        batch_op.drop_column("resolution")
        batch_op.drop_column("pending_transfer_to")
        batch_op.drop_column("urgent")
        batch_op.drop_column("matter_kind")
        batch_op.drop_column("channel")
        batch_op.drop_column("jurisdiction_path")
