"""Shared base for every record: frozen, keyword-only msgspec Structs with camelCase wire keys."""

from __future__ import annotations

import msgspec


class Record(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A domain record. Its JSON keys are camelCase; every field added later gets a default."""
