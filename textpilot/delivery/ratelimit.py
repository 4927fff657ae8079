"""Per-sender send rate: a GCRA (virtual scheduling) limiter. `reserve()` books the next slot
and says how long to wait for it, so texts leave evenly at the sender's rate with no burst
beyond one slot. One limiter per sender per worker process; with several workers on one
sender, each gets an equal share of the rate (see `worker_share`)."""
from __future__ import annotations

import os
import time


def worker_share() -> int:
    """How many dispatching workers share each sender (TEXTPILOT_DISPATCH_WORKERS, default 1)."""
    try:
        return max(1, int(os.environ.get("TEXTPILOT_DISPATCH_WORKERS", "1")))
    except ValueError:
        return 1


# At most this much of the schedule is made up after a stall: a burst of ≤ 0.1 s of slots.
CATCH_UP_SECONDS = 0.1


class RateLimiter:
    def __init__(self, rate_per_second: float):
        self.set_rate(rate_per_second)
        self._next = 0.0  # the monotonic time the next slot starts

    def set_rate(self, rate_per_second: float) -> None:
        self.rate = max(0.001, float(rate_per_second))
        self.interval = 1.0 / self.rate

    async def reserve(self) -> float:
        """Book one slot; return the seconds until it starts (0 when it is now).

        Slots missed by less than CATCH_UP_SECONDS (the loop was busy with the database
        between batches) are still used, so a busy sender keeps its configured rate over
        time; after a longer pause the schedule restarts from now (no saved-up burst)."""
        now = time.monotonic()
        start = self._next if now - self._next <= CATCH_UP_SECONDS else now
        self._next = start + self.interval
        return max(0.0, start - now)


_LIMITERS: dict[int, RateLimiter] = {}


def rate_limiter_for(sender) -> RateLimiter:
    rate = sender.rate_per_second / worker_share()
    limiter = _LIMITERS.get(sender.pk)
    if limiter is None:
        limiter = _LIMITERS[sender.pk] = RateLimiter(rate)
    elif limiter.rate != rate:
        limiter.set_rate(rate)
    return limiter
