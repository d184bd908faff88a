"""bill numbers from a sequence instead of the locked counter row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00

The sequence starts past both the highest bill number stored and the counter's
last number, so no number ever handed out comes again.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE bill_number_seq AS bigint OWNED BY bill.number")
    op.execute(
        """
        SELECT setval('bill_number_seq',
                      GREATEST((SELECT coalesce(max(number), 0) FROM bill),
                               (SELECT coalesce(max(last_number), 0) FROM bill_number_counter)) + 1,
                      false)
        """
    )
    op.alter_column("bill", "number", server_default=sa.text("nextval('bill_number_seq')"))
    op.drop_table("bill_number_counter")


def downgrade() -> None:
    op.create_table(
        "bill_number_counter",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_number_counter")),
    )
    # The counter goes on after every number the sequence handed out.
    op.execute(
        """
        INSERT INTO bill_number_counter (id, last_number)
        SELECT 1, GREATEST((SELECT coalesce(max(number), 0) FROM bill),
                           (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM bill_number_seq))
        """
    )
    op.alter_column("bill", "number", server_default=None)
    op.execute("DROP SEQUENCE bill_number_seq")
