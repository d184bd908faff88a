"""account.read_after_lsn: where the primary's WAL was after the login's last write

Query requests read on a replica only once it has replayed this far (replicas.py).

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("read_after_lsn", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("account", "read_after_lsn")
