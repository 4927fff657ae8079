"""Fixtures of the CSV import tests: an isolated data dir and helpers that go through the
real services (upload, mapping, worker run)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture(autouse=True)
def inline_checking(monkeypatch):
    """Rows are checked in the worker itself; tests that want helper processes ask for them."""
    from textpilot.integrations.imports import runner

    monkeypatch.setattr(runner, "IMPORT_HELPERS", 0)


def csv_upload(content, name="customers.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def upload():
    from textpilot.integrations.imports import service

    def _upload(store, content, name="customers.csv"):
        return service.create_import(store, csv_upload(content, name), name)

    return _upload


@pytest.fixture
def import_csv(upload, django_capture_on_commit_callbacks):
    """Upload, confirm the (suggested or given) mapping and let the worker task run."""
    from textpilot.integrations.imports import service
    from textpilot.integrations.imports.models import ImportJob

    def _import(store, content, mapping=None, name="customers.csv"):
        job = upload(store, content, name)
        with django_capture_on_commit_callbacks(execute=True):
            service.start_import(store, job.pk, mapping if mapping is not None else job.mapping)
        return ImportJob.objects.get(pk=job.pk)

    return _import
