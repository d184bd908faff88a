"""activation requests outlive a removed login (account_id nullable, ON DELETE SET NULL)

A rejected registration removes its pending login; the request row stays as
the record of the decision, so a second decision answers
ACTIVATION_ALREADY_DECIDED instead of NOT_FOUND.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FK = "fk_activation_request_account_id_account"


def upgrade() -> None:
    op.drop_constraint(FK, "activation_request", type_="foreignkey")
    op.alter_column("activation_request", "account_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_foreign_key(FK, "activation_request", "account", ["account_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(FK, "activation_request", type_="foreignkey")
    # Requests whose login is gone cannot name one again: they went with it before.
    op.execute("DELETE FROM activation_request WHERE account_id IS NULL")
    op.alter_column("activation_request", "account_id", existing_type=sa.BigInteger(), nullable=False)
    op.create_foreign_key(FK, "activation_request", "account", ["account_id"], ["id"], ondelete="CASCADE")
