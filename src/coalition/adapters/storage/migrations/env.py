"""Alembic environment: runs migrations over a synchronous connection to the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from coalition.adapters.storage.engine import backend_of, configure_sqlite, sync_url
from coalition.adapters.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("sqlalchemy.url is not set; run migrations through `coalition migrate`")

engine = create_engine(sync_url(url))
if backend_of(url) == "sqlite":
    configure_sqlite(engine)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
