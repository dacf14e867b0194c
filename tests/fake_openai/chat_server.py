"""A small OpenAI-compatible chat completions server on loopback, for the openai client.

It behaves like the real endpoint where Pegasus depends on it:
- `POST /v1/chat/completions` needs a bearer token and answers the chat completion shape;
- a `json_schema` response format with `strict: true` is checked as OpenAI's strict mode
  does: every object must set `additionalProperties: false` and list every property in
  `required` (else 400 `invalid_request_error`);
- errors use OpenAI's `{"error": {message, type, param, code}}` body.
By default it is an ideal model: it answers a valid document built from the user message
(transcript lines `[start-end] text`, partial documents to merge, or concept material). Tests
queue other replies (`queue`, `fail`, `fenced_with_trailing_comma`) or set `always_invalid`,
and read every request it received in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Json = dict[str, Any]
Reply = Callable[[Json], tuple[int, Json]]

LINE = re.compile(r"^\[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\] (.*)$")
TERM = re.compile(r"\b[A-Za-z][A-Za-z0-9]{9,}\b")  # a "term" to this model: a 10+ letter word
REDUCE_MARK = "Partial documents, one JSON per line:\n"
TERMS_PER_REQUEST = 5


def strict_schema_problem(schema: Any, path: str = "#") -> str | None:
    """Return why a schema is not valid for strict mode, or None."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            if problem := strict_schema_problem(item, f"{path}/{index}"):
                return problem
        return None
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return (
                f"In context={path}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        missing = set(schema.get("properties", {})) - set(schema.get("required", []))
        if missing:
            return (
                f"In context={path}, 'required' is required to be supplied and to be an "
                f"array including every key in properties. Missing {sorted(missing)}."
            )
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                if problem := strict_schema_problem(sub, f"{path}/{key}/{name}"):
                    return problem
        elif key in ("items", "anyOf") and (
            problem := strict_schema_problem(value, f"{path}/{key}")
        ):
            return problem
    return None


def error_body(status: int, message: str, kind: str, code: str | None = None) -> Json:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def completion(content: str, model: str) -> Json:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _lines(user: str) -> list[tuple[float, float, str]]:
    found = []
    for line in user.splitlines():
        if match := LINE.match(line):
            found.append((float(match.group(1)), float(match.group(2)), match.group(3)))
    return found


def _span(start: float, end: float) -> Json:
    return {"startSec": start, "endSec": end}


def _terms(lines: list[tuple[float, float, str]]) -> list[tuple[str, tuple[float, float, str]]]:
    seen: dict[str, tuple[float, float, str]] = {}
    for line in lines:
        for term in TERM.findall(line[2]):
            if term.lower() not in seen and len(seen) < TERMS_PER_REQUEST:
                seen[term.lower()] = line
    return [(term, line) for term, line in seen.items()]


def _requested_sections(system: str) -> list[str]:
    found = re.search(r"Requested sections: (.*?)\.(?:\n|$)", system)
    return [t.strip().capitalize() for t in found.group(1).split(",")] if found else []


def build_document(name: str, user: str, system: str = "") -> Json:
    """Return the ideal model's answer for a request named `name` (the schema's name)."""
    if REDUCE_MARK in user:
        partials = [json.loads(x) for x in user.split(REDUCE_MARK, 1)[1].splitlines() if x]
        return merge_documents(name, partials)
    if name == "concepts":
        return _concepts(user)
    lines = _lines(user)
    first, last = lines[0], lines[-1]
    whole = [_span(first[0], last[1])]
    terms = _terms(lines)
    short = " ".join(first[2].split()[:8])
    if name == "summary":
        # One section per requested section (named in the instructions), as asked.
        titles = _requested_sections(system) or ["Key points"]
        bullets = [short] + [f"Key term: {t}" for t, _ in terms]
        sections = [{"title": t, "bullets": bullets, "sourceSpans": whole} for t in titles]
        return {"overview": short, "sections": sections}
    if name == "outline":
        node = {"title": short, "points": [short], "children": [], "sourceSpans": whole}
        return {"outline": [node]}
    picked = terms or [(short, first)]
    if name == "key-terms":
        return {
            "terms": [
                {
                    "term": t,
                    "definition": " ".join(line[2].split()[:6]),
                    "example": None,
                    "sourceSpans": [_span(line[0], line[1])],
                }
                for t, line in picked
            ]
        }
    if name == "flashcards":
        return {
            "cards": [
                {
                    "front": f"What does the lecture say about {t}?",
                    "back": " ".join(line[2].split()[:6]),
                    "difficulty": "easy",
                    "tags": [],
                    "sourceSpans": [_span(line[0], line[1])],
                }
                for t, line in picked
            ]
        }
    return {
        "questions": [
            {
                "prompt": f"Explain {t}.",
                "type": "short-answer",
                "answer": " ".join(line[2].split()[:6]),
                "choices": None,
                "correctChoiceIndex": None,
                "explanation": None,
                "sourceSpans": [_span(line[0], line[1])],
            }
            for t, line in picked
        ]
    }


def merge_documents(name: str, partials: list[Json]) -> Json:
    """Merge partial documents as an ideal model would: keep everything, in order."""
    if name == "summary":
        # Sections of the same title merge: bullets and spans of every part, in order.
        sections: dict[str, Json] = {}
        for partial in partials:
            for section in partial["sections"]:
                into = sections.setdefault(
                    section["title"], {"title": section["title"], "bullets": [], "sourceSpans": []}
                )
                into["bullets"] += section["bullets"]
                into["sourceSpans"] += section["sourceSpans"]
        return {"overview": partials[0]["overview"], "sections": list(sections.values())}
    key = {"outline": "outline", "key-terms": "terms", "flashcards": "cards"}.get(name, "questions")
    return {key: [item for p in partials for item in p[key]]}


def _concepts(user: str) -> Json:
    material, _, threads_text = user.partition("Existing threads, one JSON per line:\n")
    threads = [json.loads(x) for x in threads_text.splitlines() if x.startswith("{")]
    concepts = []
    for line in material.splitlines():
        if not line.startswith("{"):
            continue
        for term in json.loads(line).get("terms", [])[:TERMS_PER_REQUEST]:
            match = next((t for t in threads if t["title"].lower() == term["term"].lower()), None)
            concepts.append(
                {
                    "title": term["term"],
                    "summary": term["definition"],
                    "complexityLevel": 2,
                    "threadId": match["id"] if match else None,
                    "changeType": "refinement" if match else "introduced",
                    "note": f"About {term['term']}.",
                }
            )
    return {"concepts": concepts}


class ChatServer:
    """The server's state: scripted replies, recorded requests, its address."""

    def __init__(self) -> None:
        self.requests: list[Json] = []
        self.script: list[Reply] = []
        self.always_invalid = False
        self.api_key = "test-key"
        self._lock = threading.Lock()
        self.base_url = ""

    # Scripting

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, then go back to default."""
        with self._lock:
            self.script.extend(replies)

    def fail(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with an HTTP error of this status."""
        kinds = {401: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}
        body = error_body(
            status, f"Scripted HTTP {status}.", kinds.get(status, "invalid_request_error")
        )
        self.queue(*[lambda _req, b=body: (status, b)] * times)

    def fenced_with_trailing_comma(self) -> None:
        """Answer the next request with a valid document in a code fence, with trailing commas."""

        def reply(request: Json) -> tuple[int, Json]:
            doc = json.dumps(self.default_document(request), indent=1)
            broken = doc[:-1].rstrip() + ",\n}"  # a trailing comma before the closing brace
            return 200, completion(f"```json\n{broken}\n```", request["model"])

        self.queue(reply)

    def refuse(self) -> None:
        """Answer the next request with a refusal, as a model declining a task does."""

        def reply(request: Json) -> tuple[int, Json]:
            body = completion("", request["model"])
            body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
            return 200, body

        self.queue(reply)

    # Answering

    def default_document(self, request: Json) -> Json:
        name = request["response_format"]["json_schema"]["name"]
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
        return build_document(name, user, system)

    def answer(self, request: Json, authorization: str | None) -> tuple[int, Json]:
        with self._lock:
            self.requests.append(request)
            scripted = self.script.pop(0) if self.script else None
        if authorization != f"Bearer {self.api_key}":
            return 401, error_body(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        fmt = request.get("response_format") or {}
        if fmt.get("type") == "json_schema" and fmt["json_schema"].get("strict"):
            problem = strict_schema_problem(fmt["json_schema"]["schema"])
            if problem:
                name = fmt["json_schema"].get("name")
                message = f"Invalid schema for response_format '{name}': {problem}"
                return 400, error_body(400, message, "invalid_request_error")
        if scripted is not None:
            return scripted(request)
        if self.always_invalid:
            return 200, completion('{"this is": not json', request["model"])
        return 200, completion(json.dumps(self.default_document(request)), request["model"])


def _handler(state: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: pytest shows failures, not access logs

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, error_body(404, "Unknown path.", "invalid_request_error"))
                return
            try:
                request = json.loads(raw)
            except ValueError:
                self._send(400, error_body(400, "Body is not JSON.", "invalid_request_error"))
                return
            status, body = state.answer(request, self.headers.get("Authorization"))
            self._send(status, body)

        def _send(self, status: int, body: Json) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running_chat_server() -> Iterator[ChatServer]:
    """Serve on a free loopback port until the block ends; yield the state (with base_url)."""
    state = ChatServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
