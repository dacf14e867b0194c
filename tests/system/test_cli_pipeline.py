"""The `pegasus` command end to end in real processes, on the offline engines."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import msgspec
import pytest

from tests.audio_fixtures import FORMATS, encode, moov_after_mdat, speech_pcm
from tests.system.cli_runner import cli_env, pegasus_cmd, query, run_cli, stored_files

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Eight seconds of the sample lecture in every accepted format."""
    directory = tmp_path_factory.mktemp("formats")
    pcm = speech_pcm(8.0)
    return {
        name: encode(directory / f"clip-{name}{FORMATS[name][2]}", name, pcm) for name in FORMATS
    }


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_ingest_wait_processes_every_accepted_format(
    fmt: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    if fmt == "m4a_moov_at_end":
        assert moov_after_mdat(clips[fmt])  # the index really is at the end of the file
    done = run_cli(tmp_path, "ingest", str(clips[fmt]), "--lecture-id", "clip", "--wait")
    assert done.returncode == 0, done.stderr
    assert "Lecture clip is ready" in done.stdout
    statuses = query(tmp_path, "SELECT job_type, status FROM jobs ORDER BY created_at")
    assert statuses == [
        ("transcription", "completed"),
        ("generation", "completed"),
        ("export", "completed"),
    ]
    markdown = tmp_path / "lectures" / "clip" / "exports" / "clip.md"
    assert markdown.read_text().startswith("# clip")
    if fmt == "wav":  # the other commands, once
        out = tmp_path / "notes.md"
        exported = run_cli(tmp_path, "export", "clip", "--type", "markdown", "-o", str(out))
        assert exported.returncode == 0, exported.stderr
        assert out.read_bytes() == markdown.read_bytes()
        status = run_cli(tmp_path, "status", "clip")
        assert "status completed, 100%" in status.stdout
        listed = run_cli(tmp_path, "lectures", "list")
        assert listed.stdout.splitlines()[0].startswith("clip  completed")
        retention = run_cli(tmp_path, "retention", "--audio-days", "1", "--dry-run")
        assert retention.stdout.strip().endswith("Would delete 0 file(s).")
        pdf = tmp_path / "notes.pdf"
        exported = run_cli(tmp_path, "export", "clip", "--type", "pdf", "-o", str(pdf))
        assert exported.returncode == 0, exported.stderr
        stored = tmp_path / "lectures" / "clip" / "exports" / "clip.pdf"
        assert pdf.read_bytes().startswith(b"%PDF-") and pdf.read_bytes() == stored.read_bytes()
        unknown = run_cli(tmp_path, "export", "clip", "--type", "docx", "-o", str(out))
        assert unknown.stderr.strip() == "pegasus: not-found: Export not found."


def test_text_named_mp3_fails_with_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    fake = tmp_path / "lecture.mp3"
    fake.write_text("Not audio at all, just notes.\n" * 100)
    storage = tmp_path / "storage"
    done = run_cli(storage, "ingest", str(fake), "--wait")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "pegasus: unsupported-audio: Unsupported audio format."
    ]
    assert query(storage, "SELECT COUNT(*) FROM lectures") == [(0,)]
    assert stored_files(storage) == []


def test_bad_input_to_commands_is_one_line_and_non_zero(tmp_path: Path) -> None:
    for args, expected in [
        (("status", "../etc"), "pegasus: invalid-request: Invalid lecture_id."),
        (("status", "missing"), "pegasus: not-found: Lecture not found."),
        (("lectures", "list", "--limit", "0"), "pegasus: validation-error: limit must be"),
        (("jobs", "replay", "nope"), "pegasus: not-found: Job not found."),
    ]:
        done = run_cli(tmp_path, *args)
        assert done.returncode != 0, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (args, done.stderr)


def _progress(storage: Path, lecture_id: str) -> float:
    try:
        rows = query(
            storage,
            "SELECT progress FROM jobs WHERE lecture_id = ? AND job_type = 'transcription'",
            lecture_id,
        )
    except sqlite3.OperationalError as exc:
        # The child has created the database file but not yet migrated it.
        assert "no such table" in str(exc)
        return 0.0
    return float(rows[0][0]) if rows else 0.0


def test_a_killed_run_is_recovered_and_only_unfinished_chunks_are_transcribed(
    tmp_path: Path,
) -> None:
    sample = Path(__file__).resolve().parents[2] / "samples" / "lecture.opus"
    child = subprocess.Popen(
        pegasus_cmd("ingest", str(sample), "--lecture-id", "killed", "--wait"),
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _progress(tmp_path, "killed") <= 0.3:
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "transcription never passed 0.3"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    finished = [p for p in stored_files(tmp_path, "lectures/killed/chunks")]
    assert finished, "progress passed 0.3, so some chunks were stored"
    assert query(tmp_path, "SELECT status FROM jobs WHERE lecture_id = 'killed'") == [("running",)]

    done = run_cli(tmp_path, "wait", "killed")
    assert done.returncode == 0, done.stderr
    rows = query(
        tmp_path,
        "SELECT attempts, status, result FROM jobs WHERE lecture_id = "
        "'killed' AND job_type = 'transcription'",
    )
    attempts, status, result = rows[0]
    result = msgspec.json.decode(result)
    assert (attempts, status) == (2, "completed")
    assert result["resumedChunkCount"] == len(finished)
    assert result["chunkCount"] > result["resumedChunkCount"]
    outcomes = query(
        tmp_path,
        "SELECT attempt, outcome FROM job_attempts a JOIN jobs j ON "
        "a.job_id = j.id WHERE j.job_type = 'transcription' ORDER BY attempt",
    )
    assert outcomes == [(1, "lost"), (2, "completed")]
    assert "Lecture killed is ready" in done.stdout
