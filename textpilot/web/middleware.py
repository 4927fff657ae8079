"""One structured log line per request: method, path, status, duration_ms, store, and the
request id when the proxy in front sent one (X-Request-ID).

The path is logged without its query string: links carry tokens and e-mail addresses
there. The request id is also bound to every other line logged while the request runs."""
import logging
import re
import time

import structlog

logger = logging.getLogger("textpilot.request")

# What a proxy's id looks like (nginx $request_id, a UUID, …); anything else is not
# logged, so a client can't push arbitrary text into the logs through the header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id(request) -> str | None:
    value = request.headers.get("X-Request-ID", "")
    return value if _REQUEST_ID.fullmatch(value) else None


class RequestLogMiddleware:
    """First in MIDDLEWARE, so the duration covers the whole stack. `request.store` is set
    further in (the dashboard's session store, or the API key's store) and read afterwards."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/static/"):
            return self.get_response(request)
        started = time.perf_counter()
        rid = request_id(request)
        with structlog.contextvars.bound_contextvars(**({"request_id": rid} if rid else {})):
            response = self.get_response(request)
            store = getattr(request, "store", None)
            logger.info("request", extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "store": getattr(store, "slug", None),
            })
        return response
