"""Renames orders.amount (blocked by a gateway with renaming-column = block)."""
from alembic import op

revision = "003"
down_revision = "002"


def upgrade():
    op.alter_column("orders", "amount", new_column_name="total")
