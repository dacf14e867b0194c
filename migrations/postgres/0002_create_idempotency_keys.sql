-- Idempotency-Key reservations and stored responses, scoped per credential.
-- The same table as migrations/sqlite/0002_create_idempotency_keys.sql, in Postgres types.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    state          TEXT NOT NULL,
    fingerprint    TEXT,
    status_code    INTEGER,
    content_type   TEXT,
    body           BYTEA,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
