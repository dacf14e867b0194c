-- Idempotency-Key reservations and stored responses, scoped per credential.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    state          TEXT NOT NULL,
    fingerprint    TEXT,
    status_code    INTEGER,
    content_type   TEXT,
    body           BLOB,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
