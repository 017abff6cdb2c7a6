"""The state store: one SQL database (SQLite or PostgreSQL) for inventory, state and ledgers."""

from hotspotctl.store.engine import Store

__all__ = ["Store"]
