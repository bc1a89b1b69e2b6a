"""instance_identity: the base URL the database's ids were minted under

Revision ID: instance_identity
Revises: relearn_remote_keys
Create Date: 2026-12-03 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "instance_identity"
down_revision: str | None = "relearn_remote_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: the first `oce serve` after this revision records its base URL.
    op.create_table(
        "instance_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column(
            "recorded_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_identity")),
    )


def downgrade() -> None:
    op.drop_table("instance_identity")
