"""planning: plans, processes, recipes, agent tombstones; process links on commitments
and events; credit limits on mutual-credit kinds

Revision ID: planning
Revises: coop
Create Date: 2026-12-03 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "planning"
down_revision: str | None = "coop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URI = sa.String(length=2048)
UTC = instance.store.models.base.UTCDateTime(timezone=True)
DECIMAL = instance.store.models.base.DecimalText(length=64)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", URI, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("author", URI, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due", UTC, nullable=True),
        sa.Column("based_on", URI, nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_plans_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("uri", name=op.f("uq_plans_uri")),
    )
    op.create_index(op.f("ix_plans_agent_id"), "plans", ["agent_id"], unique=False)
    op.create_index(op.f("ix_plans_author"), "plans", ["author"], unique=False)
    op.create_table(
        "processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", URI, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("author", URI, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("has_beginning", UTC, nullable=True),
        sa.Column("has_end", UTC, nullable=True),
        sa.Column("based_on", URI, nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_processes_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processes")),
        sa.UniqueConstraint("uri", name=op.f("uq_processes_uri")),
    )
    op.create_index(op.f("ix_processes_plan_id"), "processes", ["plan_id"], unique=False)
    op.create_table(
        "recipes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", URI, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("primary_output", URI, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_recipes_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipes")),
        sa.UniqueConstraint("uri", name=op.f("uq_recipes_uri")),
    )
    op.create_index(op.f("ix_recipes_agent_id"), "recipes", ["agent_id"], unique=False)
    op.create_index(op.f("ix_recipes_primary_output"), "recipes", ["primary_output"], unique=False)
    op.create_table(
        "agent_tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("former_type", sa.String(length=20), nullable=False),
        sa.Column("deleted_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_tombstones_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tombstones")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_agent_tombstones_agent_id")),
    )
    with op.batch_alter_table("commitments") as batch:
        for column in ("input_of", "output_of", "planned_within"):
            batch.add_column(sa.Column(column, URI, nullable=True))
            batch.create_index(batch.f(f"ix_commitments_{column}"), [column], unique=False)
    with op.batch_alter_table("economic_events") as batch:
        for column in ("input_of", "output_of"):
            batch.add_column(sa.Column(column, URI, nullable=True))
            batch.create_index(batch.f(f"ix_economic_events_{column}"), [column], unique=False)
    with op.batch_alter_table("resource_specifications") as batch:
        batch.add_column(sa.Column("credit_limit", DECIMAL, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource_specifications") as batch:
        batch.drop_column("credit_limit")
    with op.batch_alter_table("economic_events") as batch:
        for column in ("input_of", "output_of"):
            batch.drop_index(batch.f(f"ix_economic_events_{column}"))
            batch.drop_column(column)
    with op.batch_alter_table("commitments") as batch:
        for column in ("input_of", "output_of", "planned_within"):
            batch.drop_index(batch.f(f"ix_commitments_{column}"))
            batch.drop_column(column)
    op.drop_table("agent_tombstones")
    op.drop_index(op.f("ix_recipes_primary_output"), table_name="recipes")
    op.drop_index(op.f("ix_recipes_agent_id"), table_name="recipes")
    op.drop_table("recipes")
    op.drop_index(op.f("ix_processes_plan_id"), table_name="processes")
    op.drop_table("processes")
    op.drop_index(op.f("ix_plans_author"), table_name="plans")
    op.drop_index(op.f("ix_plans_agent_id"), table_name="plans")
    op.drop_table("plans")
