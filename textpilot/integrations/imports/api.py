"""CSV import API: upload a file, set the column mapping (which starts the import), follow
its progress, download the rejected rows."""
from datetime import datetime

from django.http import FileResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from textpilot.common.errors import FieldError
from textpilot.common.inputs import PlainText, RowId
from textpilot.integrations.imports import service

router = Router(tags=["imports"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "UTF-8 CSV with a header row"}},
                }
            }
        },
    }
}


class RowError(Schema):
    row: int
    column: str
    reason: str


class ImportOut(Schema):
    id: int
    status: str
    original_filename: str
    size_bytes: int
    encoding: str
    delimiter: str
    columns: list[str]
    mapping: dict[str, str]
    total_rows: int
    processed_rows: int
    imported_rows: int
    updated_rows: int
    rejected_rows: int
    progress_percent: int
    errors_sample: list[RowError]
    consent_skipped_rows: int
    consent_skipped_sample: list[RowError]
    error: str
    rejected_csv_url: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PreviewCell(Schema):
    column: str
    target: str
    raw: str
    value: str
    bad: bool


class PreviewError(Schema):
    column: str
    reason: str


class PreviewRow(Schema):
    row: int
    cells: list[PreviewCell]
    errors: list[PreviewError]


class ImportUploadOut(ImportOut):
    preview: list[PreviewRow]


class MappingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    mapping: dict[PlainText, PlainText | None]


def _out(job, **extra) -> dict:
    data = {name: getattr(job, name) for name in ImportOut.model_fields if hasattr(job, name)}
    data["progress_percent"] = service.progress_percent(job)
    data["rejected_csv_url"] = f"/api/v1/imports/{job.pk}/rejected.csv" if job.rejected_rows else None
    return {**data, **extra}


@router.post("/imports", response={201: ImportUploadOut}, summary="Upload a customers CSV (multipart field 'file')",
             openapi_extra=UPLOAD_BODY)
def upload_import(request):
    # The size is checked from Content-Length before Django reads the body into a temp file.
    service.check_declared_size(request.META.get("CONTENT_LENGTH"))
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError as exc:
        raise FieldError(f"body is not valid multipart/form-data ({exc})", field="file") from None
    if upload is None:
        raise FieldError("send the CSV as the multipart/form-data field 'file'", field="file")
    job = service.create_import(request.store, upload, upload.name)
    try:
        rows = service.preview(request.store, job)
    except FieldError:
        rows = []  # the suggested mapping has no identifier column: the client must map one
    return Status(201, _out(job, preview=rows))


@router.get("/imports", response=list[ImportOut], summary="Imports of this store, newest first")
def list_imports(request):
    return [_out(job) for job in service.list_imports(request.store)[:100]]


@router.get("/imports/{import_id}", response=ImportOut, summary="Status, progress and errors of an import")
def get_import(request, import_id: RowId):
    return _out(service.get_import(request.store, import_id))


@router.post("/imports/{import_id}/mapping", response={202: ImportOut},
             summary="Set the column mapping (column -> phone, email, …, property, skip) and start the import")
def set_mapping(request, import_id: RowId, payload: MappingIn):
    return Status(202, _out(service.start_import(request.store, import_id, payload.mapping)))


@router.get("/imports/{import_id}/rejected.csv", summary="Rejected rows with an extra 'error' column",
            openapi_extra={"responses": {"200": {"content": {"text/csv": {}}}}})
def rejected_rows(request, import_id: RowId):
    path = service.rejected_file(request.store, import_id)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"import-{import_id}-rejected.csv",
                        content_type="text/csv; charset=utf-8")
