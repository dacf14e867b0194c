"""The settings the core itself obeys: limits and the job reliability policy."""

from __future__ import annotations

from pegasus_core.records import Record


class JobPolicy(Record, frozen=True, kw_only=True):
    """Timing and retry rules of jobs (DESIGN.md section 3)."""

    max_attempts: int = 4
    retry_backoff_sec: tuple[int, ...] = (10, 60, 300)
    heartbeat_sec: float = 5.0
    stale_sec: float = 30.0
    sweep_sec: float = 5.0
    redispatch_sec: float = 120.0
    time_limit_factor: int = 3
    time_limit_min_sec: float = 300.0


class Limits(Record, frozen=True, kw_only=True):
    """Limits on what is accepted and kept."""

    max_upload_bytes: int = 200 * 1024 * 1024
    max_duration_sec: float = 240 * 60.0
    export_min_summary_sections: int = 1
    retention_audio_days: int = 30
    retention_transcript_days: int = 60
    retention_artifact_days: int = 90
    tombstone_sec: float = 3600.0
    idempotency_ttl_sec: float = 3600.0
