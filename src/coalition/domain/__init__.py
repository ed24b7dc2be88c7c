"""The pure domain core: money, ledger, bonus rules, purchases and refunds.

Nothing here imports FastAPI, SQLAlchemy or any I/O; every function is deterministic and tested
without a database.
"""
