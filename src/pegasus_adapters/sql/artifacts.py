"""Artifact and export records in SQL."""

from __future__ import annotations

import builtins
from datetime import datetime

from pegasus_adapters.sql.paging import fetch_page
from pegasus_adapters.sql.session import (
    Row,
    SqlSession,
    count,
    fetch_one,
    required_datetime,
    to_datetime,
)
from pegasus_core.artifacts import ArtifactRecord, ArtifactType, ExportRecord, ExportType
from pegasus_core.pagination import Page, PageRequest


def _artifact(row: Row) -> ArtifactRecord:
    return ArtifactRecord(
        id=row["id"],
        lecture_id=row["lecture_id"],
        artifact_type=ArtifactType(row["artifact_type"]),
        preset_id=row["preset_id"],
        version=row["version"],
        storage_path=row["storage_path"],
        sha256=row["sha256"],
        created_at=required_datetime(row["created_at"]),
        purged_at=to_datetime(row["purged_at"]),
    )


def _export(row: Row) -> ExportRecord:
    return ExportRecord(
        lecture_id=row["lecture_id"],
        export_type=ExportType(row["export_type"]),
        storage_path=row["storage_path"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        created_at=required_datetime(row["created_at"]),
        purged_at=to_datetime(row["purged_at"]),
    )


class SqlArtifactRepository:
    """One current artifact per (lecture, type), one export per (lecture, type)."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def put(self, record: ArtifactRecord) -> ArtifactRecord:
        rows = await self._s.fetch(
            "INSERT INTO artifacts (id, lecture_id, artifact_type, preset_id, version, "
            "storage_path, sha256, created_at) VALUES (:id, :lecture_id, :artifact_type, "
            ":preset_id, 1, :storage_path, :sha256, :created_at) "
            "ON CONFLICT (lecture_id, artifact_type) DO UPDATE SET id = excluded.id, "
            "preset_id = excluded.preset_id, version = artifacts.version + 1, "
            "storage_path = excluded.storage_path, sha256 = excluded.sha256, "
            "created_at = excluded.created_at, purged_at = NULL RETURNING *",
            {
                "id": record.id,
                "lecture_id": record.lecture_id,
                "artifact_type": record.artifact_type.value,
                "preset_id": record.preset_id,
                "storage_path": record.storage_path,
                "sha256": record.sha256,
                "created_at": record.created_at,
            },
        )
        return _artifact(rows[0])

    async def get(self, lecture_id: str, artifact_type: ArtifactType) -> ArtifactRecord | None:
        row = await fetch_one(
            self._s,
            "SELECT * FROM artifacts WHERE lecture_id = :l AND artifact_type = :t",
            {"l": lecture_id, "t": artifact_type.value},
        )
        return None if row is None else _artifact(row)

    async def list(
        self,
        page: PageRequest,
        *,
        lecture_id: str,
        artifact_type: ArtifactType | None = None,
        preset_id: str | None = None,
    ) -> Page[ArtifactRecord]:
        filters = {
            "lecture_id": lecture_id,
            "artifact_type": artifact_type.value if artifact_type else None,
            "preset_id": preset_id,
        }
        return await fetch_page(
            self._s,
            select="t.*",
            table="artifacts",
            filters=filters,
            page=page,
            to_record=_artifact,
        )

    async def put_export(self, record: ExportRecord) -> None:
        await self._s.execute(
            "INSERT INTO exports (lecture_id, export_type, storage_path, size_bytes, sha256, "
            "created_at) VALUES (:lecture_id, :export_type, :storage_path, :size_bytes, :sha256, "
            ":created_at) ON CONFLICT (lecture_id, export_type) DO UPDATE SET "
            "storage_path = excluded.storage_path, size_bytes = excluded.size_bytes, "
            "sha256 = excluded.sha256, created_at = excluded.created_at, purged_at = NULL",
            {
                "lecture_id": record.lecture_id,
                "export_type": record.export_type.value,
                "storage_path": record.storage_path,
                "size_bytes": record.size_bytes,
                "sha256": record.sha256,
                "created_at": record.created_at,
            },
        )

    async def get_export(self, lecture_id: str, export_type: ExportType) -> ExportRecord | None:
        row = await fetch_one(
            self._s,
            "SELECT * FROM exports WHERE lecture_id = :l AND export_type = :t",
            {"l": lecture_id, "t": export_type.value},
        )
        return None if row is None else _export(row)

    async def list_exports(self, lecture_id: str) -> builtins.list[ExportRecord]:
        rows = await self._s.fetch(
            "SELECT * FROM exports WHERE lecture_id = :l ORDER BY export_type", {"l": lecture_id}
        )
        return [_export(row) for row in rows]

    async def counts_for_lecture(self, lecture_id: str) -> tuple[int, int]:
        params = {"l": lecture_id}
        artifacts = await count(
            self._s, "SELECT COUNT(*) FROM artifacts WHERE lecture_id = :l", params
        )
        exports = await count(self._s, "SELECT COUNT(*) FROM exports WHERE lecture_id = :l", params)
        return artifacts, exports

    async def delete_for_lecture(self, lecture_id: str) -> tuple[int, int]:
        params = {"l": lecture_id}
        artifacts = await self._s.execute("DELETE FROM artifacts WHERE lecture_id = :l", params)
        exports = await self._s.execute("DELETE FROM exports WHERE lecture_id = :l", params)
        return artifacts, exports

    async def expired(self, *, created_before: datetime) -> builtins.list[ArtifactRecord]:
        rows = await self._s.fetch(
            "SELECT * FROM artifacts WHERE purged_at IS NULL AND created_at < :before",
            {"before": created_before},
        )
        return [_artifact(row) for row in rows]

    async def expired_exports(self, *, created_before: datetime) -> builtins.list[ExportRecord]:
        rows = await self._s.fetch(
            "SELECT * FROM exports WHERE purged_at IS NULL AND created_at < :before",
            {"before": created_before},
        )
        return [_export(row) for row in rows]

    async def mark_purged(
        self,
        lecture_id: str,
        *,
        artifact_type: str | None,
        export_type: str | None,
        now: datetime,
    ) -> None:
        if artifact_type is not None:
            await self._s.execute(
                "UPDATE artifacts SET purged_at = :now WHERE lecture_id = :l "
                "AND artifact_type = :t",
                {"now": now, "l": lecture_id, "t": artifact_type},
            )
        if export_type is not None:
            await self._s.execute(
                "UPDATE exports SET purged_at = :now WHERE lecture_id = :l AND export_type = :t",
                {"now": now, "l": lecture_id, "t": export_type},
            )
