"""Per-process cache of checked API keys, so an API request normally runs no query for its key.

Measured (bench/ingest_wrk_bench.py): the key lookup was one of the statements of every event
request, a round trip and ~0.7 ms of ORM work per request. An entry lives `ttl` seconds
(settings.API_KEY_CACHE_SECONDS), then the key is checked against the database again.

Freshness: revoking a key, or saving a key or a store (timezone, country… which the API
reads), drops the entries concerned in the process that did it at once (post_save signals);
other processes — the other gunicorn workers — see the change within `ttl` seconds. So a
revoked key can still be accepted by another worker for at most `ttl` seconds.

Callers get copies: a request that changes its `request.store` never changes the cached one.
"""
import copy
import threading
import time

from django.conf import settings

MAX_ENTRIES = 10_000  # far above the keys one install uses; past it the cache starts again

_entries: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()  # the dev server and the tests' live server answer from threads


def ttl() -> float:
    return float(getattr(settings, "API_KEY_CACHE_SECONDS", 10))


def get(digest: str):
    """The cached ApiKey (with its store) for this digest, as a fresh copy; None when unknown or stale."""
    entry = _entries.get(digest)
    if entry is None:
        return None
    expires_at, api_key = entry
    if time.monotonic() >= expires_at:
        with _lock:
            _entries.pop(digest, None)
        return None
    fresh = copy.copy(api_key)
    fresh.store = copy.copy(api_key.store)
    return fresh


def put(digest: str, api_key) -> None:
    seconds = ttl()
    if seconds <= 0:
        return
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (time.monotonic() + seconds, copy.copy(api_key))


def forget_key(key_id: int) -> None:
    with _lock:
        for digest in [d for d, (_, key) in _entries.items() if key.pk == key_id]:
            del _entries[digest]


def forget_store(store_id: int) -> None:
    with _lock:
        for digest in [d for d, (_, key) in _entries.items() if key.store_id == store_id]:
            del _entries[digest]


def clear() -> None:
    with _lock:
        _entries.clear()


def _key_saved(sender, instance, **kwargs) -> None:
    forget_key(instance.pk)


def _store_saved(sender, instance, **kwargs) -> None:
    forget_store(instance.pk)


def connect_signals() -> None:
    """Called from StoresConfig.ready()."""
    from django.db.models.signals import post_delete, post_save

    from textpilot.stores.models import ApiKey, Store

    post_save.connect(_key_saved, sender=ApiKey, dispatch_uid="api_key_cache.key_saved")
    post_delete.connect(_key_saved, sender=ApiKey, dispatch_uid="api_key_cache.key_deleted")
    post_save.connect(_store_saved, sender=Store, dispatch_uid="api_key_cache.store_saved")
    post_delete.connect(_store_saved, sender=Store, dispatch_uid="api_key_cache.store_deleted")
