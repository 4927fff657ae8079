"""Per-client-IP rate limit of the public storefront intake (anyone on the internet can call it).

Fixed windows of one minute, counted in storage every web process shares, so the limit holds
however many gunicorn workers and machines serve the intake: Redis when `REDIS_URL` is set
(one INCR round trip, keys expire by themselves), otherwise the database (one atomic upsert;
the single-machine setup has no Redis, and a counter in process memory would multiply the
limit by the number of processes). A fixed window lets a client burst to twice the limit
across a window boundary; for abuse control that is fine and keeps each check to one trip."""
import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection

from textpilot.common.http import client_ip
from textpilot.events.models import PublicRateCounter

logger = logging.getLogger("textpilot.events.ratelimit")

WINDOW_SECONDS = 60
REDIS_KEY_PREFIX = "textpilot:public-rate"
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # whole seconds until the current window ends


class RedisCounter:
    def __init__(self, url: str, prefix: str = REDIS_KEY_PREFIX):
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.prefix = prefix

    def increment(self, key: str, window: int) -> int:
        name = f"{self.prefix}:{window}:{key}"
        pipe = self.client.pipeline(transaction=True)  # MULTI: the counter never lives without its expiry
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS * 2)
        count, _ = pipe.execute()
        return int(count)


class DatabaseCounter:
    def increment(self, key: str, window: int) -> int:
        # One INSERT … ON CONFLICT DO UPDATE … RETURNING: atomic on PostgreSQL and on SQLite
        # (>= 3.35), so concurrent processes never lose a count. The ORM cannot express the
        # "+ 1" on conflict; names come from the model, values are parameters.
        quote = connection.ops.quote_name
        table, key_col, window_col, count_col = (
            quote(PublicRateCounter._meta.db_table), quote("key"), quote("window"), quote("count")
        )
        sql = (
            f"INSERT INTO {table} ({key_col}, {window_col}, {count_col}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({key_col}, {window_col}) DO UPDATE SET {count_col} = {table}.{count_col} + 1 "
            f"RETURNING {count_col}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, window])
            count = cursor.fetchone()[0]
        if count == 1:
            # A new window has begun: every older row is dead. Dropping them here keeps the table
            # at about one row per recently active IP without a periodic job.
            PublicRateCounter.objects.filter(window__lt=window).delete()
        return count


@lru_cache(maxsize=4)
def _redis_counter(url: str, prefix: str) -> RedisCounter:
    return RedisCounter(url, prefix)


def counter() -> RedisCounter | DatabaseCounter:
    if settings.REDIS_URL:
        return _redis_counter(settings.REDIS_URL, REDIS_KEY_PREFIX)
    return DatabaseCounter()


def hit(key: str, limit: int, now: float | None = None, backend=None) -> Decision:
    """Count one request for `key` and say whether it is within `limit` per window."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    backend = backend or counter()
    try:
        count = backend.increment(key, window)
    except redis.RedisError:
        # Redis away: keep limiting through the database rather than letting everything through.
        logger.warning("rate limit counter unavailable in Redis; counting in the database", exc_info=True)
        count = DatabaseCounter().increment(key, window)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    return Decision(allowed=count <= limit, count=count, retry_after=retry_after)


def check_public_request(request) -> Decision:
    """The intake's limit: settings.PUBLIC_RATE_PER_MIN per client IP (0 turns it off)."""
    limit = settings.PUBLIC_RATE_PER_MIN
    if limit <= 0:
        return Decision(allowed=True, count=0, retry_after=0)
    return hit(rate_key(client_ip(request)), limit)


def rate_key(ip: str) -> str:
    """IPv4 addresses count one by one; IPv6 by /64, since one home or phone gets a whole /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip[:64]}"
    if address.version == 6:
        if address.ipv4_mapped:  # ::ffff:203.0.113.7 is the IPv4 client 203.0.113.7
            return f"ip:{address.ipv4_mapped}"
        return f"ip6:{ipaddress.ip_network(f'{address}/64', strict=False).network_address}"
    return f"ip:{address}"
