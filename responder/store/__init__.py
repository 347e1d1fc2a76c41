"""The database: table models, migrations and sessions. It is the truth for incidents and deadlines."""

from huiyin.responder.store.db import Database, open_database

__all__ = ["Database", "open_database"]
