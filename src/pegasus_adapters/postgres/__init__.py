"""Postgres: the distributed database, through psycopg 3 and its async connection pool."""
