"""OAuth 2.0: client applications, codes, refresh tokens, links to other instances

Revision ID: oauth
Revises: social
Create Date: 2026-12-03 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "oauth"
down_revision: str | None = "social"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, instance.store.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_oauth_codes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_codes")),
        sa.UniqueConstraint("digest", name=op.f("uq_oauth_codes_digest")),
    )
    op.create_index(op.f("ix_oauth_codes_client_id"), "oauth_codes", ["client_id"], unique=False)
    op.create_index(op.f("ix_oauth_codes_agent_id"), "oauth_codes", ["agent_id"], unique=False)
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("refresh_digest", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_tokens_refresh_digest"), ["refresh_digest"])
        batch.add_column(sa.Column("linked_actor", sa.String(length=2048), nullable=True))
    op.create_table(
        "account_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("endpoints_json", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("remote_actor", sa.String(length=2048), nullable=True),
        sa.Column("access_token", sa.String(length=100), nullable=True),
        sa.Column("refresh_token", sa.String(length=100), nullable=True),
        _when("expires_at", nullable=True),
        sa.Column("cache_json", sa.Text(), nullable=False),
        _when("cached_at", nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_account_links_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint("state", name=op.f("uq_account_links_state")),
    )
    op.create_index(op.f("ix_account_links_agent_id"), "account_links", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_links_agent_id"), table_name="account_links")
    op.drop_table("account_links")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("linked_actor")
        batch.drop_constraint(batch.f("uq_tokens_refresh_digest"), type_="unique")
        batch.drop_column("refresh_digest")
    op.drop_index(op.f("ix_oauth_codes_agent_id"), table_name="oauth_codes")
    op.drop_index(op.f("ix_oauth_codes_client_id"), table_name="oauth_codes")
    op.drop_table("oauth_codes")
    op.drop_table("oauth_clients")
