"""The `ledger` branch: teams and members, no constraint between them yet."""
import sqlalchemy as sa
from alembic import op

revision = "l01"
down_revision = None
branch_labels = ("ledger",)


def upgrade():
    op.create_table(
        "ledger_team",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_member",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("team_id", sa.Integer, nullable=False),
    )
