"""OpenAPI documentation of the statuses every operation can answer, and the ingest form."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from pegasus_core.artifacts import EXPORT_FORMATS
from pegasus_http.schemas import Wire

# What GET /exports/... may answer: each export's type (text types with their charset).
EXPORT_MEDIA_TYPES = sorted(
    {
        media if not media.startswith("text/") else f"{media}; charset=utf-8"
        for _, media in EXPORT_FORMATS.values()
    }
)

_DESCRIPTIONS = {
    400: "Invalid identifier or a broken contract rule",
    401: "Missing or invalid Authorization header",
    403: "Invalid API token",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Upload or audio too large",
    415: "Not audio Pegasus can decode",
    422: "Request validation failed",
    429: "Too many write requests (see Retry-After)",
    503: "A dependency is unavailable",
}


class ProblemBody(Wire, frozen=True, kw_only=True):
    """An RFC 9457 problem (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Return the OpenAPI responses for these problem statuses."""
    return {
        code: ResponseSpec(
            ProblemBody, description=_DESCRIPTIONS[code], media_type="application/problem+json"
        )
        for code in codes
    }


READ = problems(400, 401, 403, 404, 422, 503)
WRITE = problems(400, 401, 403, 404, 409, 422, 429, 503)
INGEST = problems(400, 401, 403, 409, 413, 415, 422, 429, 503)

_STRING = Schema(type=OpenAPIType.STRING)
INGEST_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["course_id", "preset_id", "title", "audio"],
    properties={
        "course_id": Schema(type=OpenAPIType.STRING, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
        "lecture_id": Schema(
            type=OpenAPIType.STRING, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
        ),
        "preset_id": Schema(
            type=OpenAPIType.STRING,
            enum=[
                "exam-mode",
                "concept-map-mode",
                "beginner-mode",
                "neurodivergent-friendly-mode",
                "research-mode",
            ],
        ),
        "title": Schema(type=OpenAPIType.STRING, min_length=1, max_length=300),
        "course_title": Schema(type=OpenAPIType.STRING, max_length=300),
        "duration_sec": Schema(type=OpenAPIType.NUMBER, minimum=0),
        "source_type": Schema(type=OpenAPIType.STRING, enum=["upload", "record"]),
        "auto_process": Schema(type=OpenAPIType.BOOLEAN),
        "audio": Schema(
            type=OpenAPIType.STRING,
            format="binary",  # type: ignore[arg-type]
            description="The recording; must be the last part of the form.",
        ),
    },
)


@dataclass
class IngestOperation(Operation):
    """The ingest operation, with the multipart form its hand-written parser reads."""

    def __post_init__(self) -> None:
        # Litestar passes request_body=None: the handler takes no typed body to infer it from.
        self.request_body = RequestBody(
            required=True,
            content={"multipart/form-data": OpenAPIMediaType(schema=INGEST_FORM)},
            description="Form fields first, then the `audio` file part.",
        )


@dataclass
class ExportOperation(Operation):
    """The export download, whose 200 carries the media type of the export type."""

    def __post_init__(self) -> None:
        ok = self.responses.get("200") if self.responses else None
        if ok is not None and not isinstance(ok, Reference):
            binary = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
            document = Schema(type=OpenAPIType.OBJECT)  # the json export: one JSON document
            ok.content = {
                media: OpenAPIMediaType(schema=document if "json" in media else binary)
                for media in EXPORT_MEDIA_TYPES
            }
