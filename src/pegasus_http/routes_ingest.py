"""POST /lectures/ingest: the multipart upload, streamed into storage as it arrives."""

from __future__ import annotations

from litestar import Controller, post
from litestar.status_codes import HTTP_201_CREATED

from pegasus_core.errors import TooLargeError, ValidationError
from pegasus_core.lectures import Lecture, SourceType
from pegasus_core.use_cases.ingest import IngestRequest
from pegasus_http.dependencies import AnyRequest, facade, request_id
from pegasus_http.docs import INGEST, IngestOperation
from pegasus_http.multipart_stream import MultipartReader, boundary_of
from pegasus_http.schemas import Wire

# The multipart envelope (boundaries, part headers, form fields) on top of the audio itself.
ENVELOPE_ALLOWANCE = 1024 * 1024
FORM_FIELDS = (
    "course_id",
    "lecture_id",
    "preset_id",
    "title",
    "course_title",
    "duration_sec",
    "source_type",
    "auto_process",
)
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class IngestedJob(Wire, frozen=True, kw_only=True):
    """A job created by the ingest."""

    job_id: str
    job_type: str
    status: str


class Ingested(Wire, frozen=True, kw_only=True):
    """201 answer of POST /lectures/ingest."""

    lecture_id: str
    course_id: str
    audio_path: str
    size_bytes: int
    sha256: str
    duration_sec: float | None
    lecture: Lecture
    jobs: list[IngestedJob]


def ingest_request(
    fields: dict[str, str], *, filename: str | None, request_id: str | None
) -> IngestRequest:
    """Turn the form fields into an IngestRequest; missing or malformed fields are 422."""
    missing = [name for name in ("course_id", "preset_id", "title") if name not in fields]
    if missing:
        raise ValidationError(f"Missing form field: {', '.join(missing)}.", field=missing[0])
    duration = None
    if fields.get("duration_sec", "").strip():
        try:
            duration = float(fields["duration_sec"])
        except ValueError:
            raise ValidationError("duration_sec must be a number.", field="duration_sec") from None
        if not duration >= 0 or duration == float("inf"):
            raise ValidationError("duration_sec must be >= 0.", field="duration_sec")
    try:
        source = SourceType(fields.get("source_type", "upload"))
    except ValueError:
        raise ValidationError(
            "source_type must be upload or record.", field="source_type"
        ) from None
    auto = fields.get("auto_process", "false").strip().lower()
    if auto not in _TRUE | _FALSE:
        raise ValidationError("auto_process must be true or false.", field="auto_process")
    return IngestRequest(
        course_id=fields["course_id"],
        preset_id=fields["preset_id"],
        title=fields["title"],
        lecture_id=fields.get("lecture_id") or None,
        course_title=fields.get("course_title") or None,
        duration_sec=duration,
        source_type=source,
        # Only the final path component, and only as a label: never part of a storage key.
        original_filename=(filename or "audio").replace("\\", "/").rsplit("/", 1)[-1][:255],
        auto_process=auto in _TRUE,
        request_id=request_id,
    )


class IngestController(Controller):
    """Uploading lectures."""

    path = "/lectures/ingest"
    tags = ["lectures"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Ingest a lecture recording",
        request_max_body_size=None,
        responses=INGEST,
        operation_class=IngestOperation,
    )
    async def ingest(self, request: AnyRequest) -> Ingested:
        """Upload audio with its form fields (which must precede the `audio` file part).

        The audio is streamed into storage while hashed and checked against the size limit,
        probed from the stored bytes (415 if it is not audio), and recorded with its course.
        """
        pegasus = facade(request)
        limit = pegasus.ports.limits.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + ENVELOPE_ALLOWANCE:
            raise TooLargeError("The upload is larger than the allowed size.")
        reader = MultipartReader(
            request.stream(), boundary_of(request.headers.get("content-type", ""))
        )
        fields: dict[str, str] = {}
        result = None
        async for part in reader.parts():
            if part.name == "audio" and part.filename is not None and result is None:
                ingest = ingest_request(
                    fields, filename=part.filename, request_id=request_id(request)
                )
                result = await pegasus.ingest_lecture(ingest, part.chunks())
            elif part.name in FORM_FIELDS and result is None:
                fields[part.name] = await part.text()
        if result is None:
            raise ValidationError("Missing file part: audio.", field="audio")
        lecture = result.lecture
        return Ingested(
            lecture_id=lecture.id,
            course_id=lecture.course_id,
            audio_path=lecture.audio.path,
            size_bytes=lecture.audio.size_bytes,
            sha256=lecture.audio.sha256,
            duration_sec=lecture.duration_sec,
            lecture=lecture,
            jobs=[
                IngestedJob(job_id=j.id, job_type=j.job_type.value, status=j.status.value)
                for j in result.jobs
            ],
        )
