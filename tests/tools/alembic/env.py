"""Online-only Alembic environment: all pending revisions in one transaction (the default)."""
import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["DDLGATE_DB_URL"])
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
