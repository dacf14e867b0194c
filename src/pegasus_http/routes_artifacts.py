"""Artifacts and exports."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.response import Stream

from pegasus_core.pagination import DEFAULT_LIMIT, PageRequest
from pegasus_http.dependencies import AnyRequest, Limit, Offset, PathId, facade
from pegasus_http.docs import READ, ExportOperation
from pegasus_http.routes_lectures import Optional
from pegasus_http.schemas import ArtifactListBody, ArtifactRecordBody, ExportRecordBody


class ArtifactController(Controller):
    """A lecture's study artifacts."""

    path = "/lectures/{lecture_id:str}/artifacts"
    tags = ["artifacts"]

    @get("/", summary="List artifacts", responses=READ)
    async def list_artifacts(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        artifact_type: Optional = None,
        preset_id: Optional = None,
    ) -> ArtifactListBody:
        """Return the current artifacts with their records, download links and exports."""
        pegasus = facade(request)
        records, documents, exports = await pegasus.list_artifacts(
            lecture_id,
            PageRequest(limit=limit, offset=offset),
            artifact_type=artifact_type,
            preset_id=preset_id,
        )
        return ArtifactListBody(
            lecture_id=lecture_id,
            artifacts={kind: msgspec.to_builtins(doc) for kind, doc in documents.items()},
            artifact_records=[ArtifactRecordBody.of(r) for r in records.items],
            artifact_download_urls=await pegasus.artifact_download_urls(lecture_id, records.items),
            export_records=[
                ExportRecordBody(
                    export_type=e.export_type.value,
                    storage_path=e.storage_path,
                    size_bytes=e.size_bytes,
                    created_at=e.created_at,
                )
                for e in exports
            ],
            pagination=records.pagination,
        )

    @get("/{artifact_type:str}", summary="Get one artifact", responses=READ)
    async def get_artifact(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        artifact_type: PathId,
    ) -> dict[str, Any]:
        """Return one artifact document; 404 for an unknown or missing type."""
        pegasus = facade(request)
        document = await pegasus.get_artifact(lecture_id, artifact_type)
        result: dict[str, Any] = msgspec.to_builtins(document)
        return result


class ExportController(Controller):
    """Rendered export files."""

    path = "/exports"
    tags = ["exports"]

    @get(
        "/{lecture_id:str}/{export_type:str}",
        summary="Download an export",
        responses=READ,
        operation_class=ExportOperation,
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        lecture_id: PathId,
        export_type: PathId,
    ) -> Stream | Response[dict[str, str]]:
        """Stream the export file; 404 `Export not found.` for unknown or unrendered types.

        With `Accept: application/json` in S3 mode, answer `{downloadUrl}` instead: a presigned
        URL valid 15 minutes. In local mode the file is streamed whatever Accept says.
        """
        pegasus = facade(request)
        if "application/json" in request.headers.get("accept", ""):
            url = await pegasus.export_download_url(lecture_id, export_type)
            if url is not None:
                return Response({"downloadUrl": url}, media_type=MediaType.JSON)
        opened = await pegasus.open_export(lecture_id, export_type)
        return Stream(
            opened.chunks,
            media_type=opened.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{opened.filename}"',
                "Content-Length": str(opened.record.size_bytes),
            },
        )
