"""Dashboard pages of the CSV import: list + upload, mapping with a live preview, progress
and the validation report, and discarding an upload that was never started (owners). Every
page is scoped to the current store."""
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from textpilot.common.errors import DomainError, FieldError, NotFound
from textpilot.integrations.imports import service
from textpilot.integrations.imports.models import ImportJob
from textpilot.common.dashboard import dashboard_view, is_owner, page, require_owner

ACTIVE_NAV = "profiles"
LIST_LIMIT = 50
SAMPLE_ROWS = 3  # rows of the file shown side by side in the preview


def _job_or_404(request, import_id: int) -> ImportJob:
    try:
        return service.get_import(request.store, import_id)
    except NotFound:
        raise Http404("no such import in this store") from None


def _mapping_from_form(job: ImportJob, data) -> dict[str, str]:
    # Columns are posted by position: header names may hold any character.
    return {column: data.get(f"map-{index}", "skip") for index, column in enumerate(job.columns)}


@dashboard_view
def import_list(request):
    status, error = 200, None
    if request.method == "POST":
        try:
            service.check_declared_size(request.META.get("CONTENT_LENGTH"))
            upload = request.FILES.get("file")
            if upload is None:
                raise FieldError("choose a CSV file to upload", field="file")
            job = service.create_import(request.store, upload, upload.name, request.user)
        except DomainError as exc:
            status, error = exc.status_code, exc.message
        else:
            return redirect("imports:detail", job.pk)
    jobs = list(service.list_imports(request.store)[:LIST_LIMIT])
    return page(request, "imports/import_list.html", ACTIVE_NAV, status=status, jobs=jobs, upload_error=error,
                import_limit=service.import_limit_text(), can_discard=is_owner(request))


@require_GET
@dashboard_view
def import_detail(request, import_id: int):
    job = _job_or_404(request, import_id)
    if job.status == ImportJob.Status.UPLOADED:
        return _mapping_page(request, job, job.mapping)
    return page(request, "imports/import_report.html", ACTIVE_NAV, job=job, percent=service.progress_percent(job))


def _mapping_page(request, job, mapping, status=200, error=None, template="imports/import_mapping.html"):
    try:
        rows = service.preview(request.store, job, mapping)
    except DomainError as exc:  # e.g. no identifier column mapped yet: say so above an empty preview
        rows, error = [], error or exc.message
    columns = [
        {"index": index, "name": column, "target": mapping.get(column, "skip")} for index, column in enumerate(job.columns)
    ]
    # The preview turned sideways: one line per column of the file with its first rows' values,
    # so a file of any width fits the page; the problems of all previewed rows are listed below it.
    samples = rows[:SAMPLE_ROWS]
    preview_columns = [
        {"name": column, "target_label": samples[0]["cells"][index]["target_label"] if samples else "",
         "cells": [row["cells"][index] for row in samples]}
        for index, column in enumerate(job.columns)
    ]
    return page(request, template, ACTIVE_NAV, status=status, job=job, columns=columns, targets=service.TARGETS,
                rows=rows, samples=samples, preview_columns=preview_columns,
                problems=[{"row": row["row"], **problem} for row in rows for problem in row["errors"]], mapping_error=error,
                can_discard=is_owner(request))


@require_POST
@dashboard_view
def import_mapping(request, import_id: int):
    job = _job_or_404(request, import_id)
    mapping = _mapping_from_form(job, request.POST)
    if "preview" in request.POST:
        return _mapping_page(request, job, mapping, template="imports/import_preview.html")
    try:
        service.start_import(request.store, job.pk, mapping)
    except DomainError as exc:
        return _mapping_page(request, job, mapping, status=exc.status_code, error=exc.message)
    messages.success(request, f"Import of {job.original_filename} started.")
    return redirect("imports:detail", job.pk)


@require_GET
@dashboard_view
def import_progress(request, import_id: int):
    job = _job_or_404(request, import_id)
    return page(request, "imports/import_progress.html", ACTIVE_NAV, job=job, percent=service.progress_percent(job))


@require_POST
@dashboard_view
def import_retry(request, import_id: int):
    _job_or_404(request, import_id)
    try:
        service.retry_import(request.store, import_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("imports:detail", import_id)


@require_POST
@dashboard_view
def import_discard(request, import_id: int):
    """Owners discard a stale upload (never started): back to the list, which says so."""
    require_owner(request)
    job = _job_or_404(request, import_id)
    try:
        service.discard_import(request.store, job.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("imports:detail", job.pk)
    messages.success(request, f"Discarded {job.original_filename}: the upload and its file are deleted.")
    return redirect("imports:list")


@require_GET
@dashboard_view
def import_rejected(request, import_id: int):
    try:
        path = service.rejected_file(request.store, import_id)
    except NotFound:
        raise Http404("this import has no rejected rows") from None
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"import-{import_id}-rejected.csv",
                        content_type="text/csv; charset=utf-8")
