"""The bad-input corpus (tests/hostile_corpus.py) through the `pegasus` command.

Each refused case exits with its code and one line on stderr naming the problem's slug, and
leaves every database row and every file of the storage directory as it was. Damaged files
that still decode are ingested and processed as far as they decode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pegasus_adapters.bootstrap import SQLITE_FILE
from pegasus_cli.main import cli
from tests.helpers import sqlite_rows
from tests.hostile_corpus import (
    AUDIO_CASES,
    NEWLINE_IDS,
    OFFSETS,
    SQL_METACHARACTERS,
    build_audio_corpus,
)
from tests.system.cli_runner import query

EXIT = {400: (2, "invalid-request"), 413: (5, "too-large"), 415: (6, "unsupported-audio")}
VALIDATION, INVALID, NOT_FOUND = (2, "validation-error"), (2, "invalid-request"), (3, "not-found")


class Pegasus:
    """The real CLI, in this process, on a storage directory of its own."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.env = {
            "PLC_STORAGE_DIR": str(storage),
            "PLC_TRANSCRIBER": "scripted",
            "PLC_GENERATOR": "scripted",
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def state(self) -> dict[str, Any]:
        """Every row and every file (hidden partial files included)."""
        files = sorted(
            p.relative_to(self.storage).as_posix() for p in self.storage.rglob("*") if p.is_file()
        )
        # SQLite's own files change on every open; their rows are compared instead.
        return {
            **sqlite_rows(self.storage / SQLITE_FILE),
            "files": [f for f in files if not f.startswith(SQLITE_FILE)],
        }


def refusal(result: Result, code: int, slug: str) -> str | None:
    """What is wrong with a run that must fail with code and one `pegasus: slug: ...` line."""
    # Other stderr lines are log records (the scripted engines announce themselves loudly).
    lines = [line for line in result.stderr.splitlines() if line.startswith("pegasus: ")]
    if result.exit_code != code:
        return f"exit {result.exit_code}, expected {code}: {result.stderr!r}"
    if (
        "Traceback" in result.stderr
        or len(lines) != 1
        or not lines[0].startswith(f"pegasus: {slug}: ")
    ):
        return f"stderr is not one `pegasus: {slug}:` line: {result.stderr!r}"
    return None


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_audio_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def pegasus(tmp_path: Path, speech_clip: Path) -> Iterator[Pegasus]:
    run = Pegasus(tmp_path / "storage")
    seeded = run(
        "ingest", str(speech_clip), "--lecture-id", "lec-1", "--course", "course-1", "--wait"
    )
    assert seeded.exit_code == 0, seeded.output
    yield run


def test_refused_files_exit_with_their_problem_and_leave_nothing(
    pegasus: Pegasus, corpus_files: dict[str, Path]
) -> None:
    before = pegasus.state()
    assert before["jobs"] and before["files"]
    report = []
    for index, case in enumerate(c for c in AUDIO_CASES if c.status != 201):
        file = corpus_files[case.name]
        result = pegasus("ingest", str(file), "--lecture-id", f"refused-{index}", "--wait")
        problem = refusal(result, *EXIT[case.status])
        if problem is None and case.detail not in result.stderr:
            problem = f"detail missing: {result.stderr!r}"
        if problem:
            report.append(f"{case.name}: {problem}")
    after = pegasus.state()
    report += [
        f"{k} changed: {before[k]!r} -> {after[k]!r}" for k in before if after[k] != before[k]
    ]
    assert not report, "\n".join(report)


def test_damaged_files_that_decode_are_processed_as_far_as_they_decode(
    pegasus: Pegasus, corpus_files: dict[str, Path]
) -> None:
    report = []
    for index, case in enumerate(c for c in AUDIO_CASES if c.status == 201):
        lecture_id = f"damaged-{index}"
        result = pegasus(
            "ingest", str(corpus_files[case.name]), "--lecture-id", lecture_id, "--wait"
        )
        if case.job_error is not None:
            problem = refusal(result, 1, "error")
            if problem is None and case.job_error not in result.stderr:
                problem = f"job error missing: {result.stderr!r}"
            if problem:
                report.append(f"{case.name}: {problem}")
            continue
        assert case.decodes_sec is not None
        duration = query(
            pegasus.storage, "SELECT duration_sec FROM lectures WHERE id = ?", lecture_id
        )
        if result.exit_code != 0:
            report.append(f"{case.name}: exit {result.exit_code}: {result.stderr!r}")
        elif not case.decodes_sec[0] <= duration[0][0] <= case.decodes_sec[1]:
            report.append(f"{case.name}: decoded {duration} s, not in {case.decodes_sec}")
    assert not report, "\n".join(report)


def test_hostile_arguments_exit_with_their_problem_and_change_nothing(
    pegasus: Pegasus, speech_clip: Path
) -> None:
    clip = str(speech_clip)
    calls: list[tuple[tuple[str, ...], tuple[int, str]]] = []
    for value in (*NEWLINE_IDS, *SQL_METACHARACTERS):
        calls += [
            (("ingest", clip, "--lecture-id", value), INVALID),
            (("ingest", clip, "--course", value), INVALID),
            (("ingest", clip, "--preset", value), INVALID),
            (("status", value), INVALID),
            (("wait", value), INVALID),
            (("export", value), INVALID),
            (("jobs", "show", value), INVALID),
            (("jobs", "replay", value), INVALID),
            (("lectures", "list", "--course", value), INVALID),
            (("lectures", "list", "--status", value), VALIDATION),
            (("jobs", "failed", "--lecture", value), INVALID),
            (("export", "lec-1", "--type", value), NOT_FOUND),
        ]
    for value in ("0", "-1", "501", "1" + "0" * 40):
        calls += [
            (("lectures", "list", "--limit", value), VALIDATION),
            (("jobs", "failed", "--limit", value), VALIDATION),
        ]
    for value in OFFSETS[:2]:
        calls.append((("lectures", "list", "--offset", value), VALIDATION))
    calls.append((("ingest", clip, "--title", "t" * 301), VALIDATION))
    before = pegasus.state()
    assert before["jobs"] and before["files"]
    report = []
    for args, (code, slug) in calls:
        problem = refusal(pegasus(*args), code, slug)
        if problem:
            report.append(f"{args!r}: {problem}")
    after = pegasus.state()
    report += [
        f"{k} changed: {before[k]!r} -> {after[k]!r}" for k in before if after[k] != before[k]
    ]
    assert len(calls) > 100
    assert not report, "\n".join(report)
