"""Reading the numbered SQL migration files shipped beside the source."""

from __future__ import annotations

import re
from pathlib import Path

from pegasus_core.records import Record

# migrations/ sits at the repository root, two levels above this package's directory.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class Migration(Record, frozen=True, kw_only=True):
    """One forward-only migration file."""

    version: int
    name: str
    statements: tuple[str, ...]


def _statements(sql: str) -> tuple[str, ...]:
    # Files hold plain DDL: drop comment lines, split on semicolons.
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(part.strip() for part in body.split(";") if part.strip())


def load_migrations(dialect: str) -> list[Migration]:
    """Return the migrations of a dialect (`sqlite` or `postgres`), in version order."""
    found = []
    for path in sorted((MIGRATIONS_DIR / dialect).glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if match is None:
            raise ValueError(f"badly named migration: {path.name}")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                statements=_statements(path.read_text(encoding="utf-8")),
            )
        )
    return found
