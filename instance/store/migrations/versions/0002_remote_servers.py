"""remote servers: which peers speak ValueFlows (they get Proposals, others Notes)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remote_servers",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("software", sa.String(length=64), nullable=False),
        sa.Column("valueflows", sa.Boolean(), nullable=False),
        sa.Column("nodeinfo_found", sa.Boolean(), nullable=False),
        sa.Column(
            "checked_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_remote_servers")),
    )


def downgrade() -> None:
    op.drop_table("remote_servers")
