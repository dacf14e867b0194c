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


def _complete(statement: str) -> bool:
    # A semicolon inside a $$-quoted body (Postgres functions) or inside a SQLite trigger's
    # BEGIN ... END does not end the statement.
    if statement.count("$$") % 2:
        return False
    if re.match(r"CREATE\s+TRIGGER\b", statement, re.IGNORECASE) and re.search(
        r"\bBEGIN\b", statement, re.IGNORECASE
    ):
        return re.search(r"\bEND\s*$", statement, re.IGNORECASE) is not None
    return True


def split_statements(sql: str) -> tuple[str, ...]:
    """Split a migration file into statements (comment lines dropped)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    statements, pending = [], ""
    for piece in body.split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if _complete(pending.strip()):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError("unterminated statement in migration")
    return tuple(statements)


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
                statements=split_statements(path.read_text(encoding="utf-8")),
            )
        )
    return found
