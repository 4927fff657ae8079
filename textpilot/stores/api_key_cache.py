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
import threading
import time

from django.conf import settings
from django.db.models.base import ModelState

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
    fresh = _clone(api_key)
    fresh.store = _clone(api_key.store)
    return fresh


def _clone(instance):
    """A shallow copy of a model instance without its cached relations: copy.copy goes through
    pickling's __reduce_ex__ and cost ~60 µs for a key and its store, this ~3 µs."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__ = {**instance.__dict__, "_state": ModelState()}
    clone._state.db, clone._state.adding = instance._state.db, False
    return clone


def put(digest: str, api_key) -> None:
    seconds = ttl()
    if seconds <= 0:
        return
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        stored = _clone(api_key)
        stored.store = _clone(api_key.store)
        _entries[digest] = (time.monotonic() + seconds, stored)


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
