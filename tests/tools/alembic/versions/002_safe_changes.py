"""Adds a per-row token, an index on amount and a foreign key to customer."""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "002"
down_revision = "001"


def upgrade():
    op.add_column(
        "orders",
        sa.Column(
            "token",
            UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
    )
    op.create_index("orders_amount_idx", "orders", ["amount"])
    op.add_column("orders", sa.Column("customer_id", sa.Integer, nullable=True))
    op.create_foreign_key(
        "orders_customer_id_fkey", "orders", "customer", ["customer_id"], ["id"]
    )
