"""Log lines as an operator reads them, rendered by the formatter of the real log config
(textpilot.logconfig) in both formats: the request line's fields, stdlib `extra` fields,
and what is never rendered (query strings, Django's request object)."""
import io
import json
import logging

import pytest
from django.http import HttpResponse
from django.urls import path

from textpilot.logconfig import build_logging_config


def structured_formatter(fmt: str) -> logging.Formatter:
    spec = dict(build_logging_config("INFO", fmt)["formatters"]["structured"])
    return spec.pop("()")(**spec)


@pytest.fixture
def rendered():
    """Lines as the console handler renders them, at the moment they are logged (the
    request id is bound only while the request runs). Call with "json" or "console"."""
    root, handlers = logging.getLogger(), []

    def capture(fmt: str):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(structured_formatter(fmt))
        root.addHandler(handler)
        handlers.append(handler)
        return lambda: stream.getvalue().splitlines()

    yield capture
    for handler in handlers:
        root.removeHandler(handler)


def json_lines(lines) -> list[dict]:
    return [json.loads(line) for line in lines()]


def request_lines(lines) -> list[dict]:
    return [line for line in json_lines(lines) if line["logger"] == "textpilot.request"]


def test_stdlib_extra_fields_are_kept_in_json(rendered):
    lines = rendered("json")
    logging.getLogger("textpilot.imports").info("import.finished", extra={"rows": 3, "file_name": "a.csv"})
    line, = json_lines(lines)
    assert (line["event"], line["rows"], line["file_name"], line["level"]) == ("import.finished", 3, "a.csv", "info")


def test_stdlib_extra_fields_are_kept_in_console(rendered):
    lines = rendered("console")
    logging.getLogger("textpilot.imports").warning("import.finished", extra={"rows": 3, "file_name": "a.csv"})
    line, = lines()
    assert "import.finished" in line and "rows=3" in line and "file_name=a.csv" in line and "[warning" in line


def test_structlog_lines_keep_their_fields_too(rendered):
    import structlog

    lines = rendered("json")
    structlog.get_logger("textpilot.delivery").info("dispatcher.stopped", sent=7)
    line, = json_lines(lines)
    assert (line["event"], line["sent"], line["logger"]) == ("dispatcher.stopped", 7, "textpilot.delivery")


def test_anonymous_request_line_has_every_field_and_no_query_string(client, db, rendered):
    lines = rendered("json")
    assert client.get("/healthz?token=sekrit-1").status_code == 200
    line, = request_lines(lines)
    assert {k: line[k] for k in ("event", "method", "path", "status", "store")} == {
        "event": "request", "method": "GET", "path": "/healthz", "status": 200, "store": None}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "request_id" not in line
    assert "sekrit" not in "\n".join(lines())


def test_request_line_names_the_dashboard_users_store(client, store, rendered):
    from textpilot.stores import service

    client.force_login(service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff"))
    lines = rendered("console")
    assert client.get("/").status_code == 200
    line, = [line for line in lines() if "[textpilot.request]" in line]
    for field in ("method=GET", "path=/", "status=200", "store=acme", "duration_ms="):
        assert field in line, line


def test_request_line_names_the_api_keys_store(client, store, api_key, rendered):
    lines = rendered("json")
    response = client.get("/api/v1/profiles?email=ann@example.test", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200
    line, = request_lines(lines)
    assert (line["method"], line["path"], line["status"], line["store"]) == ("GET", "/api/v1/profiles", 200, "acme")
    assert api_key not in "\n".join(lines()) and "ann@example.test" not in "\n".join(lines())


def test_a_wrong_api_key_logs_no_store(client, store, rendered):
    lines = rendered("json")
    assert client.get("/api/v1/profiles", HTTP_AUTHORIZATION="Bearer tp_wrong").status_code == 401
    line, = request_lines(lines)
    assert (line["status"], line["store"]) == (401, None)


def logging_view(request):
    import structlog

    logging.getLogger("textpilot.test").info("inside.stdlib")
    structlog.get_logger("textpilot.test").info("inside.structlog")
    return HttpResponse("ok")


def failing_view(request):
    raise RuntimeError("boom")


urlpatterns = [path("logs", logging_view), path("fails", failing_view)]


def test_the_proxys_request_id_is_on_every_line_logged_while_the_request_runs(client, db, settings, rendered):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    lines = rendered("json")
    assert client.get("/logs", HTTP_X_REQUEST_ID="3f2a-77.b").status_code == 200
    assert client.get("/fails", HTTP_X_REQUEST_ID="c0ffee").status_code == 500
    ids = [(line["event"], line.get("request_id")) for line in json_lines(lines)]
    assert ids[:3] == [("inside.stdlib", "3f2a-77.b"), ("inside.structlog", "3f2a-77.b"), ("request", "3f2a-77.b")]
    # The 500's traceback line is logged inside the request: an operator finds it by the id.
    assert ("Internal Server Error: /fails", "c0ffee") in ids and ("request", "c0ffee") in ids
    assert "request_id" not in structured_formatter("json").format(logging.LogRecord("x", 20, "", 0, "after", (), None))


def test_djangos_request_object_is_never_rendered(client, db, rendered):
    """django.request passes the HttpRequest as `extra`: its repr has the query string."""
    lines = rendered("json")
    assert client.get("/no-such-page?token=sekrit-2").status_code == 404
    line, = [line for line in json_lines(lines) if line["logger"] == "django.request"]
    assert (line["event"], line["status_code"]) == ("Not Found: /no-such-page", 404) and "request" not in line
    assert "sekrit" not in "\n".join(lines())


@pytest.mark.parametrize("header", ["has space", "x" * 129, "line\nbreak", ""])
def test_a_request_id_that_is_not_an_id_is_not_logged(client, db, rendered, header):
    lines = rendered("json")
    client.get("/healthz", HTTP_X_REQUEST_ID=header)
    line, = request_lines(lines)
    assert "request_id" not in line


def test_static_files_get_no_request_line(client, db, rendered):
    lines = rendered("json")
    client.get("/static/does-not-matter.css")
    assert request_lines(lines) == []
