"""The schema as SQLAlchemy Core tables, by area; `coalition.adapters.storage.tables` gathers them."""
