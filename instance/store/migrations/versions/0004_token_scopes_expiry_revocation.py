"""tokens: scopes, expiry, revocation, and the OAuth client they were issued to

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tokens made before this revision keep doing what they did: read and write, for
    # good, until revoked.
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=100), nullable=False, server_default="read write")
        )
        batch.add_column(
            sa.Column(
                "expires_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "revoked_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("client_id", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_tokens_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_index(batch.f("ix_tokens_client_id"))
        batch.drop_column("client_id")
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
        batch.drop_column("scope")
