"""One structured log line per request: method, path, status, duration, store."""
import logging
import time

logger = logging.getLogger("textpilot.request")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            store = getattr(request, "store", None)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "store": getattr(store, "slug", None),
                },
            )
        return response
