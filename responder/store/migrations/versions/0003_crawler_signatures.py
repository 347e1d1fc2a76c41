"""crawler: MinHash signatures of collected posts, so near-duplicate clusters survive restarts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "near_dup_signatures",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("cluster_id", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("post_id"),
    )
    op.create_index("ix_near_dup_signatures_cluster_id", "near_dup_signatures", ["cluster_id"], unique=False)
    op.create_index("ix_near_dup_signatures_created_at", "near_dup_signatures", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_near_dup_signatures_created_at", table_name="near_dup_signatures")
    op.drop_index("ix_near_dup_signatures_cluster_id", table_name="near_dup_signatures")
    op.drop_table("near_dup_signatures")
