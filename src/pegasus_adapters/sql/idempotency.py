"""Idempotency keys in SQL."""

from __future__ import annotations

from datetime import datetime

from pegasus_adapters.sql.session import Row, SqlSession, fetch_one, required_datetime
from pegasus_core.idempotency import IdempotencyEntry, KeyState, StoredResponse


def _entry(row: Row) -> IdempotencyEntry:
    response = None
    if row["state"] == KeyState.DONE.value:
        response = StoredResponse(
            fingerprint=row["fingerprint"],
            status_code=row["status_code"],
            content_type=row["content_type"],
            body=bytes(row["body"]),
        )
    return IdempotencyEntry(
        scope=row["scope"],
        key=row["key"],
        state=KeyState(row["state"]),
        created_at=required_datetime(row["created_at"]),
        expires_at=required_datetime(row["expires_at"]),
        response=response,
    )


class SqlIdempotencyRepository:
    """One row per (scope, key); the primary key makes reservation atomic."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def reserve(
        self, scope: str, key: str, *, now: datetime, expires_at: datetime
    ) -> IdempotencyEntry | None:
        params = {"scope": scope, "key": key, "now": now, "expires_at": expires_at}
        await self._s.execute(
            "DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key "
            "AND expires_at <= :now",
            params,
        )
        inserted = await self._s.execute(
            "INSERT INTO idempotency_keys (scope, key, state, created_at, expires_at) "
            "VALUES (:scope, :key, 'in_progress', :now, :expires_at) ON CONFLICT DO NOTHING",
            params,
        )
        if inserted:
            return None
        row = await fetch_one(
            self._s,
            "SELECT * FROM idempotency_keys WHERE scope = :scope AND key = :key",
            params,
        )
        assert row is not None  # the conflicting row, inside this transaction
        return _entry(row)

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        await self._s.execute(
            "UPDATE idempotency_keys SET state = 'done', fingerprint = :fingerprint, "
            "status_code = :status, content_type = :content_type, body = :body "
            "WHERE scope = :scope AND key = :key",
            {
                "scope": scope,
                "key": key,
                "fingerprint": response.fingerprint,
                "status": response.status_code,
                "content_type": response.content_type,
                "body": response.body,
            },
        )

    async def release(self, scope: str, key: str) -> None:
        await self._s.execute(
            "DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key "
            "AND state = 'in_progress'",
            {"scope": scope, "key": key},
        )

    async def purge_expired(self, *, now: datetime) -> int:
        return await self._s.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= :now", {"now": now}
        )
