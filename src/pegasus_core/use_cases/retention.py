"""Retention: delete stored files older than their retention period, keep their paths."""

from __future__ import annotations

from datetime import timedelta

from pegasus_core.context import Ports
from pegasus_core.lectures import Lecture
from pegasus_core.pagination import MAX_LIMIT, PageRequest
from pegasus_core.records import Record


class RetentionAction(Record, frozen=True, kw_only=True):
    """One file retention removed (or would remove, in a dry run)."""

    lecture_id: str
    kind: str
    path: str


class RetentionReport(Record, frozen=True, kw_only=True):
    """What a retention run did."""

    dry_run: bool
    actions: tuple[RetentionAction, ...]
    skipped_active_lectures: tuple[str, ...]


async def enforce_retention(
    ports: Ports,
    *,
    audio_days: int,
    transcript_days: int,
    artifact_days: int,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete files older than their period (age = the record's createdAt); 0 days disables.

    - The path stays in the database with purgedAt set; integrity reports it as `purged`.
    - Exports follow the artifact period. Lectures with an active job are skipped.
    """
    now = ports.clock.now()
    actions: list[RetentionAction] = []
    skipped: set[str] = set()
    async with ports.uow(read_only=True) as uow:
        lectures: list[Lecture] = []
        offset = 0
        while True:
            page = await uow.lectures.list(PageRequest(limit=MAX_LIMIT, offset=offset))
            lectures.extend(page.items)
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
        artifacts = (
            await uow.artifacts.expired(created_before=now - timedelta(days=artifact_days))
            if artifact_days > 0
            else []
        )
        exports = (
            await uow.artifacts.expired_exports(created_before=now - timedelta(days=artifact_days))
            if artifact_days > 0
            else []
        )
        active = {lecture.id for lecture in lectures if await uow.jobs.has_active(lecture.id)}
    for lecture in lectures:
        if lecture.id in active:
            skipped.add(lecture.id)
            continue
        if (
            audio_days > 0
            and lecture.audio.purged_at is None
            and (lecture.created_at < now - timedelta(days=audio_days))
        ):
            actions.append(
                RetentionAction(lecture_id=lecture.id, kind="audio", path=lecture.audio.path)
            )
        created = lecture.transcript_created_at
        if (
            transcript_days > 0
            and lecture.transcript_path
            and created is not None
            and lecture.transcript_purged_at is None
            and created < now - timedelta(days=transcript_days)
        ):
            actions.append(
                RetentionAction(
                    lecture_id=lecture.id, kind="transcript", path=lecture.transcript_path
                )
            )
    for record in artifacts:
        if record.lecture_id not in active:
            actions.append(
                RetentionAction(
                    lecture_id=record.lecture_id,
                    kind=f"artifact:{record.artifact_type.value}",
                    path=record.storage_path,
                )
            )
    for export in exports:
        if export.lecture_id not in active:
            actions.append(
                RetentionAction(
                    lecture_id=export.lecture_id,
                    kind=f"export:{export.export_type.value}",
                    path=export.storage_path,
                )
            )
    if not dry_run:
        for action in actions:
            await ports.blobs.delete(action.path)
            await _mark(ports, action)
    return RetentionReport(
        dry_run=dry_run, actions=tuple(actions), skipped_active_lectures=tuple(sorted(skipped))
    )


async def _mark(ports: Ports, action: RetentionAction) -> None:
    now = ports.clock.now()
    async with ports.uow() as uow:
        if action.kind == "audio":
            await uow.lectures.update(action.lecture_id, now=now, audio_purged_at=now)
        elif action.kind == "transcript":
            await uow.lectures.update(action.lecture_id, now=now, transcript_purged_at=now)
        elif action.kind.startswith("artifact:"):
            await uow.artifacts.mark_purged(
                action.lecture_id, artifact_type=action.kind[9:], export_type=None, now=now
            )
        else:
            await uow.artifacts.mark_purged(
                action.lecture_id, artifact_type=None, export_type=action.kind[7:], now=now
            )
        await uow.commit()
