"""agents' Ed25519 keys for integrity proofs on their economic records (FEP-8b32, FEP-521a)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Agents created before this revision get their key the first time they sign.
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("proof_private_pem", sa.Text(), nullable=True))
        batch.add_column(sa.Column("proof_public_pem", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("proof_public_pem")
        batch.drop_column("proof_private_pem")
