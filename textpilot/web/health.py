"""GET /healthz: is the database answering, is the queue reachable, is a worker alive."""
import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from textpilot.common import queue_status


@require_GET
def healthz(request):
    checks = {}
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # any failure means "not healthy"; say which
        checks["database"] = {"ok": False, "error": str(exc)[:200]}
    checks["queue"] = queue_status.describe()
    healthy = checks["database"]["ok"] and checks["queue"]["ok"]
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
