"""cooperatives: settings, memberships, acts for an organization, contributions and
their validations, value equations, distributions, payments and claims

Revision ID: coop
Revises: web_sessions
Create Date: 2026-12-03 19:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import instance.store.models.base

revision: str = "coop"
down_revision: str | None = "web_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coop_contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_uri", sa.String(length=2048), nullable=False),
        sa.Column("organization", sa.String(length=2048), nullable=False),
        sa.Column("contributor", sa.String(length=2048), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("hours", instance.store.models.base.DecimalText(length=64), nullable=True),
        sa.Column("quantity", instance.store.models.base.DecimalText(length=64), nullable=True),
        sa.Column("conforms_to", sa.String(length=2048), nullable=True),
        sa.Column("process", sa.String(length=2048), nullable=True),
        sa.Column("plan", sa.String(length=2048), nullable=True),
        sa.Column(
            "happened_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_contributions")),
        sa.UniqueConstraint("event_uri", name=op.f("uq_coop_contributions_event_uri")),
    )
    op.create_index(
        "ix_coop_contributions_org_state",
        "coop_contributions",
        ["organization", "state"],
        unique=False,
    )
    op.create_table(
        "coop_acts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_uri", sa.String(length=2048), nullable=False),
        sa.Column("organization_agent_id", sa.Integer(), nullable=False),
        sa.Column("person_agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_acts_organization_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_acts_person_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_acts")),
        sa.UniqueConstraint("activity_uri", name=op.f("uq_coop_acts_activity_uri")),
    )
    op.create_table(
        "coop_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("organization_agent_id", sa.Integer(), nullable=False),
        sa.Column("claimant", sa.String(length=2048), nullable=False),
        sa.Column("event_uri", sa.String(length=2048), nullable=False),
        sa.Column("claim_type", sa.String(length=16), nullable=False),
        sa.Column("value", instance.store.models.base.DecimalText(length=64), nullable=False),
        sa.Column("paid", instance.store.models.base.DecimalText(length=64), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_claims_organization_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_claims")),
        sa.UniqueConstraint("key", name=op.f("uq_coop_claims_key")),
        sa.UniqueConstraint("uri", name=op.f("uq_coop_claims_uri")),
    )
    op.create_table(
        "coop_distributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("organization_agent_id", sa.Integer(), nullable=False),
        sa.Column("income_event", sa.String(length=2048), nullable=False),
        sa.Column("equation", sa.String(length=100), nullable=False),
        sa.Column("amount", instance.store.models.base.DecimalText(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("conforms_to", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=2048), nullable=False),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_distributions_organization_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_distributions")),
        sa.UniqueConstraint("income_event", name=op.f("uq_coop_distributions_income_event")),
        sa.UniqueConstraint("uri", name=op.f("uq_coop_distributions_uri")),
    )
    op.create_table(
        "coop_equations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("organization_agent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_equations_organization_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_equations")),
        sa.UniqueConstraint(
            "organization_agent_id",
            "name",
            name=op.f("uq_coop_equations_organization_agent_id_name"),
        ),
        sa.UniqueConstraint("uri", name=op.f("uq_coop_equations_uri")),
    )
    op.create_table(
        "coop_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization", sa.String(length=2048), nullable=False),
        sa.Column("organization_agent_id", sa.Integer(), nullable=True),
        sa.Column("member", sa.String(length=2048), nullable=False),
        sa.Column("member_agent_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("roles", sa.String(length=100), nullable=False),
        sa.Column("activity_uri", sa.String(length=2048), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["member_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_memberships_member_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_memberships_organization_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_memberships")),
        sa.UniqueConstraint(
            "organization", "member", name=op.f("uq_coop_memberships_organization_member")
        ),
    )
    op.create_index(
        op.f("ix_coop_memberships_activity_uri"), "coop_memberships", ["activity_uri"], unique=False
    )
    op.create_index(
        op.f("ix_coop_memberships_member_agent_id"),
        "coop_memberships",
        ["member_agent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_coop_memberships_organization_agent_id"),
        "coop_memberships",
        ["organization_agent_id"],
        unique=False,
    )
    op.create_table(
        "coop_settings",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("joining", sa.String(length=16), nullable=False),
        sa.Column("members_public", sa.Boolean(), nullable=False),
        sa.Column("validators_required", sa.Integer(), nullable=False),
        sa.Column("precision", sa.Integer(), nullable=False),
        sa.Column("share_conforms_to", sa.String(length=2048), nullable=True),
        sa.Column("share_price", instance.store.models.base.DecimalText(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_coop_settings_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_coop_settings")),
    )
    op.create_table(
        "coop_validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("validator", sa.String(length=2048), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("activity_uri", sa.String(length=2048), nullable=True),
        sa.Column(
            "created_at", instance.store.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["coop_contributions.id"],
            name=op.f("fk_coop_validations_contribution_id_coop_contributions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_validations")),
        sa.UniqueConstraint(
            "contribution_id",
            "validator",
            name=op.f("uq_coop_validations_contribution_id_validator"),
        ),
    )
    op.create_table(
        "coop_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distribution_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=2048), nullable=False),
        sa.Column("amount", instance.store.models.base.DecimalText(length=64), nullable=False),
        sa.Column("event_uri", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("settles", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distribution_id"],
            ["coop_distributions.id"],
            name=op.f("fk_coop_payments_distribution_id_coop_distributions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_payments")),
        sa.UniqueConstraint(
            "distribution_id", "recipient", name=op.f("uq_coop_payments_distribution_id_recipient")
        ),
        sa.UniqueConstraint("event_uri", name=op.f("uq_coop_payments_event_uri")),
    )


def downgrade() -> None:
    op.drop_table("coop_payments")
    op.drop_table("coop_validations")
    op.drop_table("coop_settings")
    op.drop_index(op.f("ix_coop_memberships_organization_agent_id"), table_name="coop_memberships")
    op.drop_index(op.f("ix_coop_memberships_member_agent_id"), table_name="coop_memberships")
    op.drop_index(op.f("ix_coop_memberships_activity_uri"), table_name="coop_memberships")
    op.drop_table("coop_memberships")
    op.drop_table("coop_equations")
    op.drop_table("coop_distributions")
    op.drop_table("coop_claims")
    op.drop_table("coop_acts")
    op.drop_index("ix_coop_contributions_org_state", table_name="coop_contributions")
    op.drop_table("coop_contributions")
