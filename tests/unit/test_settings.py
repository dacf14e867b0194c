from __future__ import annotations

import logging

import pytest

from pegasus_adapters.bootstrap import default_worker_threads
from pegasus_adapters.settings import load_settings
from pegasus_core.errors import ConfigError


def test_zero_configuration_is_embedded() -> None:
    settings = load_settings({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.transcriber_engine == "offline" and settings.generator_engine == "offline"
    assert settings.storage_dir == "storage" and settings.max_audio_upload_mb == 200


def test_values_are_converted() -> None:
    settings = load_settings(
        {
            "PLC_INLINE_JOBS": "on",
            "PLC_MAX_AUDIO_UPLOAD_MB": "8",
            "PLC_RETENTION_AUDIO_DAYS": "0",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert settings.inline_jobs is True and settings.max_audio_upload_mb == 8
    assert settings.retention_audio_days == 0 and settings.s3_region == "eu-west-1"


def test_an_api_key_selects_the_openai_engines() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-test"})
    assert settings.transcriber_engine == "openai" == settings.generator_engine


def test_workers_run_fewer_jobs_at_once_with_the_cpu_bound_offline_engine() -> None:
    assert default_worker_threads(load_settings({})) == 4
    assert default_worker_threads(load_settings({"OPENAI_API_KEY": "sk-test"})) == 32
    assert default_worker_threads(load_settings({"PLC_TRANSCRIBER": "scripted"})) == 32


def test_every_problem_is_reported_at_once_one_line_per_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "STORAGE_MODE": "s3",
                "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS": "abc",
                "PLC_JOB_MAX_ATTEMPTS": "0",
                "REDIS_URL": "redis://x",
            }
        )
    lines = str(caught.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS",
        "PLC_JOB_MAX_ATTEMPTS",
        "S3_BUCKET",
        "S3_PREFIX",
        "REDIS_URL",
    ]


def test_an_unknown_plc_variable_is_a_warning_naming_the_closest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        load_settings({"PLC_MAX_AUDIO_UPLOAD": "5"})
    assert "PLC_MAX_AUDIO_UPLOAD_MB" in caplog.text


def test_a_bad_engine_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="PLC_TRANSCRIBER"):
        load_settings({"PLC_TRANSCRIBER": "whisperx"})
