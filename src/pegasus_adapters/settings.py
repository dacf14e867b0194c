"""Settings from the environment (CONTRACT.md section 10), validated all at once."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from pegasus_core.config import JobPolicy, Limits
from pegasus_core.errors import ConfigError

log = logging.getLogger("pegasus.settings")

Engine = Literal["offline", "openai", "scripted"]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting Pegasus reads. Tests build this directly; entrypoints use load_settings."""

    database_url: str | None = None
    redis_url: str | None = None
    inline_jobs: bool = False
    storage_dir: str = "storage"
    storage_mode: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_transcribe_model: str = "whisper-1"
    transcriber: Engine | None = None
    generator: Engine | None = None
    write_api_token: str | None = None
    read_api_token: str | None = None
    trusted_proxies: str = "127.0.0.1,::1"
    max_audio_upload_mb: int = 200
    max_audio_duration_min: int = 240
    write_rate_limit_max_requests: int = 60
    write_rate_limit_window_sec: int = 60
    idempotency_ttl_sec: int = 3600
    export_min_summary_sections: int = 1
    retention_audio_days: int = 30
    retention_transcript_days: int = 60
    retention_artifact_days: int = 90
    job_heartbeat_sec: int = 5
    job_stale_sec: int = 30
    job_sweep_sec: int = 5
    job_redispatch_sec: int = 120
    job_retry_backoff_sec: str = "10,60,300"
    job_max_attempts: int = 4
    job_time_limit_factor: int = 3
    job_time_limit_min_sec: int = 300
    job_concurrency: int = 2
    queue_namespace: str = "pegasus"
    scripted_delay_ms: int = 0
    fault_dir: str | None = None
    generation_token_budget: int = 12000
    # Test seams, not environment variables: pick adapters the environment cannot name.
    repository: Literal["memory", "sqlite", "postgres"] | None = None
    blob_store: Literal["memory", "local", "s3"] | None = None
    job_queue: Literal["inline", "in_process", "deferred", "dramatiq"] | None = None

    @property
    def transcriber_engine(self) -> Engine:
        """Return the speech-to-text engine: openai with an API key, else offline."""
        return self.transcriber or ("openai" if self.openai_api_key else "offline")

    @property
    def generator_engine(self) -> Engine:
        """Return the generator engine: openai with an API key, else offline."""
        return self.generator or ("openai" if self.openai_api_key else "offline")

    @property
    def storage_path(self) -> Path:
        """Return the local storage directory."""
        return Path(self.storage_dir)

    def policy(self) -> JobPolicy:
        """Return the job policy the core obeys."""
        return JobPolicy(
            max_attempts=self.job_max_attempts,
            retry_backoff_sec=_backoff(self.job_retry_backoff_sec),
            heartbeat_sec=float(self.job_heartbeat_sec),
            stale_sec=float(self.job_stale_sec),
            sweep_sec=float(self.job_sweep_sec),
            redispatch_sec=float(self.job_redispatch_sec),
            time_limit_factor=self.job_time_limit_factor,
            time_limit_min_sec=float(self.job_time_limit_min_sec),
        )

    def limits(self) -> Limits:
        """Return the limits the core obeys."""
        return Limits(
            max_upload_bytes=self.max_audio_upload_mb * 1024 * 1024,
            max_duration_sec=self.max_audio_duration_min * 60.0,
            export_min_summary_sections=self.export_min_summary_sections,
            retention_audio_days=self.retention_audio_days,
            retention_transcript_days=self.retention_transcript_days,
            retention_artifact_days=self.retention_artifact_days,
            idempotency_ttl_sec=float(self.idempotency_ttl_sec),
        )


def _backoff(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in value.split(",") if part.strip())


# Environment variable -> Settings field. Names are the contract's, not a PEGASUS_ prefix.
ENV_FIELDS: dict[str, str] = {
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "PLC_INLINE_JOBS": "inline_jobs",
    "PLC_STORAGE_DIR": "storage_dir",
    "STORAGE_MODE": "storage_mode",
    "S3_BUCKET": "s3_bucket",
    "S3_PREFIX": "s3_prefix",
    "S3_ENDPOINT_URL": "s3_endpoint_url",
    "S3_REGION": "s3_region",
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_MODEL": "openai_model",
    "OPENAI_BASE_URL": "openai_base_url",
    "OPENAI_TRANSCRIBE_MODEL": "openai_transcribe_model",
    "PLC_TRANSCRIBER": "transcriber",
    "PLC_GENERATOR": "generator",
    "PLC_WRITE_API_TOKEN": "write_api_token",
    "PLC_READ_API_TOKEN": "read_api_token",
    "PLC_TRUSTED_PROXIES": "trusted_proxies",
    "PLC_MAX_AUDIO_UPLOAD_MB": "max_audio_upload_mb",
    "PLC_MAX_AUDIO_DURATION_MIN": "max_audio_duration_min",
    "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS": "write_rate_limit_max_requests",
    "PLC_WRITE_RATE_LIMIT_WINDOW_SEC": "write_rate_limit_window_sec",
    "PLC_IDEMPOTENCY_TTL_SEC": "idempotency_ttl_sec",
    "PLC_EXPORT_MIN_SUMMARY_SECTIONS": "export_min_summary_sections",
    "PLC_RETENTION_AUDIO_DAYS": "retention_audio_days",
    "PLC_RETENTION_TRANSCRIPT_DAYS": "retention_transcript_days",
    "PLC_RETENTION_ARTIFACT_DAYS": "retention_artifact_days",
    "PLC_JOB_HEARTBEAT_SEC": "job_heartbeat_sec",
    "PLC_JOB_STALE_SEC": "job_stale_sec",
    "PLC_JOB_SWEEP_SEC": "job_sweep_sec",
    "PLC_JOB_REDISPATCH_SEC": "job_redispatch_sec",
    "PLC_JOB_RETRY_BACKOFF_SEC": "job_retry_backoff_sec",
    "PLC_JOB_MAX_ATTEMPTS": "job_max_attempts",
    "PLC_JOB_TIME_LIMIT_FACTOR": "job_time_limit_factor",
    "PLC_JOB_TIME_LIMIT_MIN_SEC": "job_time_limit_min_sec",
    "PLC_JOB_CONCURRENCY": "job_concurrency",
    "PLC_QUEUE_NAMESPACE": "queue_namespace",
    "PLC_SCRIPTED_DELAY_MS": "scripted_delay_ms",
    "PLC_FAULT_DIR": "fault_dir",
    "PLC_GENERATION_TOKEN_BUDGET": "generation_token_budget",
}
_MAY_BE_ZERO = {
    "PLC_SCRIPTED_DELAY_MS",
    "PLC_EXPORT_MIN_SUMMARY_SECTIONS",
    "PLC_RETENTION_AUDIO_DAYS",
    "PLC_RETENTION_TRANSCRIPT_DAYS",
    "PLC_RETENTION_ARTIFACT_DAYS",
}
_BOOL_TRUE = {"1", "true", "on", "yes"}
_BOOL_FALSE = {"0", "false", "off", "no", ""}


def _convert_one(variable: str, field: str, raw: str) -> tuple[object, str | None]:
    """Return (value, problem) for one variable."""
    field_type = Settings.__annotations__[field]
    if field == "inline_jobs":
        lowered = raw.strip().lower()
        if lowered in _BOOL_TRUE | _BOOL_FALSE:
            return lowered in _BOOL_TRUE, None
        return None, f"{variable}: expected true/false (1/0, on/off), got {raw!r}"
    if field_type == "int":
        try:
            value = int(raw.strip())
        except ValueError:
            return None, f"{variable}: expected an integer, got {raw!r}"
        floor = 0 if variable in _MAY_BE_ZERO else 1
        if value < floor:
            return None, f"{variable}: expected an integer >= {floor}, got {value}"
        return value, None
    return (raw if raw != "" else None) if "None" in field_type else raw, None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables, reporting every problem at once.

    Raises ConfigError listing one line per bad variable. Unknown PLC_* variables are logged
    as warnings naming the closest known one.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    problems: list[str] = []
    for variable, raw in env.items():
        field = ENV_FIELDS.get(variable)
        if field is None:
            if variable.startswith("PLC_"):
                close = difflib.get_close_matches(variable, ENV_FIELDS, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                log.warning("unknown setting %s ignored%s", variable, hint)
            continue
        value, problem = _convert_one(variable, field, raw)
        if problem:
            problems.append(problem)
        elif value is not None:
            values[field] = value
    if "s3_region" not in values and env.get("AWS_REGION"):
        values["s3_region"] = env["AWS_REGION"]
    problems += _check_values(values)
    if problems:
        raise ConfigError("Invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:  # Literal fields (STORAGE_MODE, engines)
        raise ConfigError(f"Invalid configuration:\n  {exc}") from None


def _check_values(values: Mapping[str, object]) -> list[str]:
    problems = []
    engines = ("offline", "openai", "scripted")
    for variable, field in (("PLC_TRANSCRIBER", "transcriber"), ("PLC_GENERATOR", "generator")):
        if field in values and values[field] not in engines:
            problems.append(
                f"{variable}: expected one of {', '.join(engines)}, got {values[field]!r}"
            )
    mode = values.get("storage_mode", "local")
    if mode not in ("local", "s3"):
        problems.append(f"STORAGE_MODE: expected local or s3, got {mode!r}")
    if mode == "s3":
        if not values.get("s3_bucket"):
            problems.append("S3_BUCKET: required when STORAGE_MODE=s3")
        if not values.get("s3_prefix"):
            problems.append("S3_PREFIX: required (non-empty) when STORAGE_MODE=s3")
    backoff = str(values.get("job_retry_backoff_sec", "10,60,300"))
    try:
        if any(part < 0 for part in _backoff(backoff)):
            raise ValueError
    except ValueError:
        problems.append(
            f"PLC_JOB_RETRY_BACKOFF_SEC: expected comma-separated seconds, got {backoff!r}"
        )
    if values.get("redis_url") and not values.get("database_url"):
        problems.append("REDIS_URL: a queue needs a shared database; set DATABASE_URL too")
    if values.get("database_url") and not (values.get("redis_url") or values.get("inline_jobs")):
        problems.append("DATABASE_URL: set REDIS_URL (distributed) or PLC_INLINE_JOBS=true")
    return problems
