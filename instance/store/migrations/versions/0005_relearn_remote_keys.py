"""forget the stored remote keys, so each is learned again from its own origin

Before this revision an actor document could rebind another server's key id to its own
PEM (issue 11, defect 2): a stored key may carry a PEM its owner never published, and
nothing in the row shows which. The rows are only a cache of what each key's origin
publishes, so they are all dropped; each key is fetched again (from its own origin,
under the new rules) the next time a signature names it.

Revision ID: relearn_remote_keys
Revises: 0004
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "relearn_remote_keys"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM remote_keys")


def downgrade() -> None:
    # Nothing to restore: the keys are fetched again when needed.
    pass
