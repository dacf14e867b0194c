"""Strict JSON schemas for OpenAI structured outputs, derived from the msgspec Structs.

OpenAI's strict mode accepts a subset of JSON Schema: the root is an object, every object
sets `additionalProperties: false` and lists every property in `required` (an optional field
is `anyOf [T, null]`, which msgspec already emits for `T | None`), and `default` is not a
supported keyword. `$defs` with `$ref` (recursion included, as in the outline) are supported,
so they are kept; only the root `$ref` msgspec emits is inlined.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import msgspec

from pegasus_core.artifacts import ARTIFACT_CLASSES, ArtifactType
from pegasus_core.records import Record
from pegasus_core.threads import Concept

# Filled by the core after generation; the model never writes them.
HEADER_FIELDS = frozenset(
    ("artifactType", "id", "courseId", "lectureId", "presetId", "generatedAt", "version")
) | {"threadRefs"}

Schema = dict[str, Any]


class ConceptAnswer(Record, frozen=True, kw_only=True):
    """The model's answer to a concept-matching request."""

    concepts: tuple[Concept, ...]


def strict_schema(
    struct_type: type[msgspec.Struct], *, drop: frozenset[str] = frozenset()
) -> Schema:
    """Return the strict-mode schema of a Struct, without the top-level properties in `drop`."""
    raw = msgspec.json.schema(struct_type)
    defs: dict[str, Schema] = raw.get("$defs", {})
    root = dict(defs[raw["$ref"].rsplit("/", 1)[-1]]) if "$ref" in raw else dict(raw)
    root.pop("$defs", None)
    root["properties"] = {k: v for k, v in root["properties"].items() if k not in drop}
    schema: Schema = _strict(root)
    used = _reachable(schema, defs)
    if used:
        schema["$defs"] = {name: _strict(defs[name]) for name in sorted(used)}
    return schema


def _reachable(root: Schema, defs: dict[str, Schema]) -> set[str]:
    """Return the names of the definitions the root refers to, directly or through others."""
    found: set[str] = set()
    pending = [root]
    while pending:
        for name in _refs(pending.pop()):
            if name not in found:
                found.add(name)
                pending.append(defs[name])
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _refs(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
    return own + [name for value in node.values() for name in _refs(value)]


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _strict(value) for key, value in node.items() if key != "default"}
    if result.get("type") == "object" or "properties" in result:
        result["type"] = "object"
        result.setdefault("properties", {})
        result["required"] = list(result["properties"])
        result["additionalProperties"] = False
    enum = result.get("enum")
    if enum and "type" not in result and all(isinstance(v, str) for v in enum):
        result["type"] = "string"
    return result


@functools.cache
def artifact_schema(artifact_type: ArtifactType) -> Schema:
    """Return the strict schema of an artifact's body (the header is the core's)."""
    return strict_schema(ARTIFACT_CLASSES[artifact_type], drop=HEADER_FIELDS)


@functools.cache
def concept_schema() -> Schema:
    """Return the strict schema of a concept-matching answer."""
    return strict_schema(ConceptAnswer)


def response_format(name: str, schema: Schema) -> dict[str, Any]:
    """Return the chat completions `response_format` asking for this schema, strictly.

    A deep copy: the client may keep or alter what it is given, and schemas are cached.
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": True, "schema": copy.deepcopy(schema)},
    }
