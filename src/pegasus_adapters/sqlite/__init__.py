"""SQLite: the embedded database (a file in WAL mode) and the in-memory test database."""
