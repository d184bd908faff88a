"""throttle_subject: what a client address or an email was counted for, for hourly limits

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_subject",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "subject", name=op.f("pk_throttle_subject")),
    )
    # Address counters now live in throttle_subject; the old per-address rows would only linger.
    op.execute("DELETE FROM throttle WHERE key LIKE 'ip:%'")


def downgrade() -> None:
    op.drop_table("throttle_subject")
