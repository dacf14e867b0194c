"""Repositories written once in portable SQL, run by the SQLite and Postgres units of work."""
