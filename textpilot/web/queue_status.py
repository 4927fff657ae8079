"""What /healthz and the dashboard say about the background queue and its workers."""
import time

from huey.constants import EmptyData
from huey.contrib.djhuey import HUEY

HEARTBEAT_KEY = "textpilot:worker-heartbeat"
WORKER_STALE_AFTER_SECONDS = 180


def record_worker_heartbeat() -> None:
    HUEY.storage.put_data(HEARTBEAT_KEY, str(time.time()).encode())


def last_worker_heartbeat() -> float | None:
    # peek_data leaves the value in place (pop would consume it).
    raw = HUEY.storage.peek_data(HEARTBEAT_KEY)
    if raw is None or raw is EmptyData:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def describe() -> dict:
    backend = type(HUEY).__name__
    try:
        pending = HUEY.pending_count()
        heartbeat = last_worker_heartbeat()
    except Exception as exc:  # Redis down, SQLite file unreadable, …
        return {"ok": False, "backend": backend, "error": str(exc)[:200]}
    age = None if heartbeat is None else round(time.time() - heartbeat, 1)
    return {
        "ok": True,
        "backend": backend,
        "pending": pending,
        "immediate": HUEY.immediate,
        "worker_alive": age is not None and age < WORKER_STALE_AFTER_SECONDS,
        "worker_heartbeat_age_s": age,
    }
