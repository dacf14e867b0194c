"""Reading a model's reply: decode, repair locally what can be repaired, validate."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from pegasus_core.artifacts import AnyArtifact, ExamQuestions, check_non_empty

T = TypeVar("T", bound=msgspec.Struct)

_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


class InvalidReplyError(ValueError):
    """The reply is not a valid document, even after local repair; the message says why."""


def repair(text: str) -> str:
    """Return the reply with the usual slips undone.

    Those are a code fence, prose around the JSON object, and trailing commas before `}` or
    `]` (outside strings).
    """
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start != -1 and end > start:
        body = body[start : end + 1]
    return _drop_trailing_commas(body)


def _drop_trailing_commas(text: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    pending_comma = -1  # index in out of a comma that may turn out to be trailing
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char in "}]" and pending_comma != -1:
            del out[pending_comma]
        if not char.isspace():
            pending_comma = -1
        if char == '"':
            in_string = True
        elif char == ",":
            pending_comma = len(out)
        out.append(char)
    return "".join(out)


def decode_reply(text: str, type_: type[T]) -> T:
    """Decode a reply as `type_`, trying it as sent, then repaired. Raises InvalidReplyError."""
    try:
        return msgspec.json.decode(text, type=type_)
    except msgspec.DecodeError as first:
        try:
            return msgspec.json.decode(repair(text), type=type_)
        except msgspec.DecodeError:
            raise InvalidReplyError(str(first)) from None


def check_artifact(doc: AnyArtifact) -> None:
    """Raise InvalidReplyError unless the document is complete and self-consistent.

    Beyond check_non_empty: a multiple-choice question needs choices and a correct index
    pointing into them.
    """
    try:
        check_non_empty(doc)
    except ValueError as exc:
        raise InvalidReplyError(str(exc)) from None
    if isinstance(doc, ExamQuestions):
        for question in doc.questions:
            if question.type != "multiple-choice":
                continue
            choices, index = question.choices or (), question.correct_choice_index
            if index is None or not 0 <= index < len(choices):
                raise InvalidReplyError("a multiple-choice question needs its correct choice")
