"""The unit of work shared by every SQL backend: repositories over one session."""

from __future__ import annotations

from pegasus_adapters.sql.artifacts import SqlArtifactRepository
from pegasus_adapters.sql.idempotency import SqlIdempotencyRepository
from pegasus_adapters.sql.jobs import SqlJobRepository
from pegasus_adapters.sql.lectures import SqlCourseRepository, SqlLectureRepository
from pegasus_adapters.sql.session import SqlSession
from pegasus_adapters.sql.threads import SqlThreadRepository, SqlTombstoneRepository


class SqlRepositories:
    """Every repository, bound to one session (one transaction)."""

    def __init__(self, session: SqlSession, *, writable_ctes: bool = False) -> None:
        """writable_ctes: the backend runs INSERT/UPDATE inside WITH (Postgres, not SQLite)."""
        self.courses = SqlCourseRepository(session)
        self.lectures = SqlLectureRepository(session)
        self.jobs = SqlJobRepository(session, writable_ctes=writable_ctes)
        self.artifacts = SqlArtifactRepository(session)
        self.threads = SqlThreadRepository(session)
        self.tombstones = SqlTombstoneRepository(session)
        self.idempotency = SqlIdempotencyRepository(session)
