"""Per-sender send rate: GCRA (virtual scheduling). `reserve(n)` books the sender's next n
slots (1/rate apart) and says how long until the first one starts, so texts leave evenly at
the sender's rate with no burst beyond what a short stall makes up (CATCH_UP_SECONDS).

Where the schedule lives decides what several dispatchers on one sender do together:
- **Redis** (`REDIS_URL` set; `SharedRateLimiter`): one schedule per sender in Redis, advanced
  by a Lua script (atomic, on Redis's clock), from which every dispatcher on every machine
  books. Together they keep the sender's rate whatever their number; a dispatcher that dies
  simply stops booking, so the others get its slots at once (only the slots it had booked
  and not used are lost: one pacing tick); `TEXTPILOT_DISPATCH_WORKERS` is not needed and is
  ignored, so forgetting it can't multiply the rate.
- **No Redis** (`RateLimiter`): the schedule is in process memory, for the single-machine
  setup with one dispatcher. With N dispatchers on one sender each must be told N
  (TEXTPILOT_DISPATCH_WORKERS=N, each takes 1/N of the rate): a static share, so a dead
  dispatcher's share is lost until the others restart, and a forgotten setting multiplies
  the rate by N. Run several dispatchers with Redis.

If Redis stops answering, a shared limiter paces alone at the rate divided by the number of
dispatchers that booked from the schedule lately (counted in Redis) until it answers again.
"""
from __future__ import annotations

import os
import time

import redis
import redis.asyncio
import structlog
from django.conf import settings

log = structlog.get_logger(__name__)


def worker_share() -> int:
    """How many dispatching workers share each sender without Redis (TEXTPILOT_DISPATCH_WORKERS, default 1)."""
    try:
        return max(1, int(os.environ.get("TEXTPILOT_DISPATCH_WORKERS", "1")))
    except ValueError:
        return 1


# At most this much of the schedule is made up after a stall: a burst of ≤ 0.1 s of slots.
CATCH_UP_SECONDS = 0.1


class RateLimiter:
    """The schedule in this process's memory."""

    def __init__(self, rate_per_second: float):
        self.set_rate(rate_per_second)
        self._next = 0.0  # the monotonic time the next slot starts

    def set_rate(self, rate_per_second: float) -> None:
        self.rate = max(0.001, float(rate_per_second))
        self.interval = 1.0 / self.rate

    @property
    def own_rate(self) -> float:
        """What this dispatcher may expect to send per second (the whole schedule is its own)."""
        return self.rate

    async def reserve(self, count: int = 1) -> float:
        """Book `count` consecutive slots; return the seconds until the first starts (0: now).

        Slots missed by less than CATCH_UP_SECONDS (the loop was busy with the database
        between batches) are still used, so a busy sender keeps its configured rate over
        time; after a longer pause the schedule restarts from now (no saved-up burst)."""
        now = time.monotonic()
        start = self._next if now - self._next <= CATCH_UP_SECONDS else now
        self._next = start + self.interval * count
        return max(0.0, start - now)


_LIMITERS: dict[int, RateLimiter] = {}


def rate_limiter_for(sender) -> RateLimiter:
    """The process's limiter of a sender, at this dispatcher's static share of its rate."""
    rate = sender.rate_per_second / worker_share()
    limiter = _LIMITERS.get(sender.pk)
    if limiter is None:
        limiter = _LIMITERS[sender.pk] = RateLimiter(rate)
    elif limiter.rate != rate:
        limiter.set_rate(rate)
    return limiter


# --- the schedule in Redis ------------------------------------------------------------------

REDIS_KEY_PREFIX = "textpilot:send-rate"
REDIS_TIMEOUT_SECONDS = 1.0
# A dispatcher counts as sharing a sender while it booked a slot this recently.
SHARING_WINDOW_SECONDS = 10.0
# After Redis failed, pace locally this long before asking it again.
REDIS_RETRY_SECONDS = 5.0

# KEYS[1]: the start of the sender's next free slot (µs on Redis's clock, TIME).
# KEYS[2]: who booked lately (sorted set: owner -> µs of their last booking).
# ARGV: µs per slot, slots to book, catch-up µs, owner, sharing window µs.
# Returns the first booked slot's start, Redis's now (both µs) and how many dispatchers share.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval, count, catch_up = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local booked = tonumber(redis.call('GET', KEYS[1]))
local start = now
if booked and now - booked <= catch_up then start = booked end
local after = start + interval * count
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
local window = tonumber(ARGV[5])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], math.ceil(window / 1000))
return {string.format('%.0f', start), string.format('%.0f', now), redis.call('ZCARD', KEYS[2])}
"""


def schedule_keys(sender_id: int, prefix: str = REDIS_KEY_PREFIX) -> list[str]:
    # {sender_id} is a hash tag: on Redis Cluster both keys of a sender live on one node.
    return [f"{prefix}:{{{sender_id}}}:next", f"{prefix}:{{{sender_id}}}:who"]


class SharedRateLimiter:
    """A sender's schedule in Redis, shared by every dispatcher (see the module docstring)."""

    def __init__(self, script, sender_id: int, rate_per_second: float, owner: str, prefix: str = REDIS_KEY_PREFIX):
        self._script, self.owner = script, owner
        self.keys = schedule_keys(sender_id, prefix)
        self.sharing = 1  # dispatchers that booked from this schedule lately, as Redis last said
        self.last_start_us: int | None = None  # the first slot of the last booking (tests read it)
        self._local = RateLimiter(rate_per_second)
        self._redis_again_at = 0.0
        self.set_rate(rate_per_second)

    def set_rate(self, rate_per_second: float) -> None:
        self.rate = max(0.001, float(rate_per_second))
        self.interval = 1.0 / self.rate
        self._local.set_rate(self.own_rate)

    @property
    def own_rate(self) -> float:
        """What this dispatcher may expect to send per second: its part of the sender's rate
        among the dispatchers booking from the schedule lately."""
        return self.rate / max(1, self.sharing)

    async def reserve(self, count: int = 1) -> float:
        if time.monotonic() >= self._redis_again_at:
            try:
                start, now, sharing = await self._script(keys=self.keys, args=[
                    self.interval * 1e6, count, CATCH_UP_SECONDS * 1e6, self.owner, SHARING_WINDOW_SECONDS * 1e6])
            except (redis.RedisError, OSError) as exc:
                self._redis_again_at = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning("ratelimit.redis_unavailable", error=str(exc), pacing_alone_at=self.own_rate)
            else:
                self.last_start_us, self.sharing = int(start), max(1, int(sharing))
                return max(0.0, (int(start) - int(now)) / 1e6)
        self._local.set_rate(self.own_rate)
        return await self._local.reserve(count)


class Limiters:
    """The rate limiters one dispatcher uses: shared through Redis when REDIS_URL is set,
    else this process's own (with TEXTPILOT_DISPATCH_WORKERS's static share)."""

    def __init__(self, owner: str, redis_url: str | None = None, prefix: str = REDIS_KEY_PREFIX):
        self.owner, self.prefix = owner, prefix
        self.url = settings.REDIS_URL if redis_url is None else redis_url
        self._client = self._script = None
        self._shared: dict[int, SharedRateLimiter] = {}
        if self.url and worker_share() > 1:
            log.info("ratelimit.workers_setting_ignored", reason="the rate is shared through Redis",
                     TEXTPILOT_DISPATCH_WORKERS=worker_share())

    def for_sender(self, sender):
        if not self.url:
            return rate_limiter_for(sender)
        limiter = self._shared.get(sender.pk)
        if limiter is None:
            if self._client is None:
                self._client = redis.asyncio.Redis.from_url(self.url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                            socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
                self._script = self._client.register_script(GCRA_SCRIPT)
            limiter = self._shared[sender.pk] = SharedRateLimiter(self._script, sender.pk, sender.rate_per_second,
                                                                  self.owner, self.prefix)
        elif limiter.rate != sender.rate_per_second:
            limiter.set_rate(sender.rate_per_second)
        return limiter

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
