"""Storage adapter: the schema (SQLAlchemy Core), Alembic migrations and the SQL implementation of the ports."""
