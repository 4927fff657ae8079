"""What /healthz and the dashboard say about the background queue and its workers."""
import time

from huey.constants import EmptyData
from huey.contrib.djhuey import HUEY

HEARTBEAT_KEY = "textpilot:worker-heartbeat"
DISPATCHER_HEARTBEAT_KEY = "textpilot:dispatcher-heartbeat"
WORKER_STALE_AFTER_SECONDS = 180
DISPATCHER_STALE_AFTER_SECONDS = 60  # the dispatcher beats every few seconds


def record_worker_heartbeat(key: str = HEARTBEAT_KEY) -> None:
    HUEY.storage.put_data(key, str(time.time()).encode())


def record_dispatcher_heartbeat() -> None:
    record_worker_heartbeat(DISPATCHER_HEARTBEAT_KEY)


def last_worker_heartbeat(key: str = HEARTBEAT_KEY) -> float | None:
    # peek_data leaves the value in place (pop would consume it).
    raw = HUEY.storage.peek_data(key)
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
        dispatcher_beat = last_worker_heartbeat(DISPATCHER_HEARTBEAT_KEY)
    except Exception as exc:  # Redis down, SQLite file unreadable, …
        return {"ok": False, "backend": backend, "error": str(exc)[:200]}
    age = None if heartbeat is None else round(time.time() - heartbeat, 1)
    dispatcher_age = None if dispatcher_beat is None else round(time.time() - dispatcher_beat, 1)
    return {
        "ok": True,
        "backend": backend,
        "pending": pending,
        "immediate": HUEY.immediate,
        "worker_alive": age is not None and age < WORKER_STALE_AFTER_SECONDS,
        "worker_heartbeat_age_s": age,
        # The dispatcher (textpilot dispatch) sends texts; without one, messages stay queued.
        "dispatcher_alive": dispatcher_age is not None and dispatcher_age < DISPATCHER_STALE_AFTER_SECONDS,
        "dispatcher_heartbeat_age_s": dispatcher_age,
    }
