"""likes and boosts, blocks by agents, featured posts, agents' moves (issue 15)

Revision ID: social
Revises: planning
Create Date: 2026-12-03 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "social"
down_revision: str | None = "planning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URI = sa.String(length=2048)


def _created() -> sa.Column[object]:
    return sa.Column(
        "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("activity_uri", URI, nullable=False),
        sa.Column("actor", URI, nullable=False),
        sa.Column("object_uri", URI, nullable=False),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_reactions_agent_id_agents", ondelete="CASCADE"),
            nullable=True,
        ),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_reactions"),
        sa.UniqueConstraint("activity_uri", name="uq_reactions_activity_uri"),
        sa.UniqueConstraint(
            "kind", "actor", "object_uri", name="uq_reactions_kind_actor_object_uri"
        ),
    )
    op.create_index("ix_reactions_object_uri", "reactions", ["object_uri"])
    op.create_index("ix_reactions_agent_id", "reactions", ["agent_id"])
    op.create_table(
        "actor_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_actor_blocks_agent_id_agents", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("blocked", URI, nullable=False),
        sa.Column("activity_uri", URI, nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_actor_blocks"),
        sa.UniqueConstraint("activity_uri", name="uq_actor_blocks_activity_uri"),
        sa.UniqueConstraint("agent_id", "blocked", name="uq_actor_blocks_agent_id_blocked"),
    )
    op.create_index("ix_actor_blocks_blocked", "actor_blocks", ["blocked"])
    op.create_table(
        "featured_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey(
                "agents.id", name="fk_featured_items_agent_id_agents", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("object_uri", URI, nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_featured_items"),
        sa.UniqueConstraint("agent_id", "object_uri", name="uq_featured_items_agent_id_object_uri"),
    )
    op.create_table(
        "agent_moves",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", name="fk_agent_moves_agent_id_agents", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("also_known_as", sa.Text(), nullable=False),
        sa.Column("moved_to", URI, nullable=True),
        sa.Column(
            "updated_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_moves"),
    )


def downgrade() -> None:
    op.drop_table("agent_moves")
    op.drop_table("featured_items")
    op.drop_index("ix_actor_blocks_blocked", table_name="actor_blocks")
    op.drop_table("actor_blocks")
    op.drop_index("ix_reactions_agent_id", table_name="reactions")
    op.drop_index("ix_reactions_object_uri", table_name="reactions")
    op.drop_table("reactions")
