"""A unique email and a foreign key to the team, added to tables that already hold data."""
from alembic import op

revision = "l02"
down_revision = "l01"


def upgrade():
    op.create_unique_constraint("ledger_member_email_key", "ledger_member", ["email"])
    op.create_foreign_key(
        "ledger_member_team_id_fkey", "ledger_member", "ledger_team", ["team_id"], ["id"]
    )
