"""notifications of local agents; avatars uploaded through the Agent app

Revision ID: notifications
Revises: social
Create Date: 2026-12-03 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "notifications"
down_revision: str | None = "oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URI = sa.String(length=2048)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, instance.store.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_notifications_agent_id_agents", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", URI, nullable=False),
        sa.Column("activity_uri", URI, nullable=False),
        sa.Column("object_uri", URI, nullable=True),
        _at("created_at"),
        _at("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "agent_id", "activity_uri", name="uq_notifications_agent_id_activity_uri"
        ),
    )
    op.create_index("ix_notifications_agent_id_read_at", "notifications", ["agent_id", "read_at"])
    op.create_table(
        "agent_avatars",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_agent_avatars_agent_id_agents", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_avatars"),
    )


def downgrade() -> None:
    op.drop_table("agent_avatars")
    op.drop_index("ix_notifications_agent_id_read_at", table_name="notifications")
    op.drop_table("notifications")
