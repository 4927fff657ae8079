"""A circuit breaker per provider (per worker): after repeated failures stop calling the
provider for a while instead of hammering it, then let one trial batch through."""
from __future__ import annotations

import time

import structlog

log = structlog.get_logger(__name__)


class CircuitBreaker:
    def __init__(self, name: str, *, failure_threshold: int = 20, failure_ratio: float = 0.5,
                 open_seconds: float = 30.0, window: int = 50):
        self.name = name
        self.failure_threshold, self.failure_ratio = failure_threshold, failure_ratio
        self.open_seconds, self.window = open_seconds, window
        self._results: list[bool] = []
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if time.monotonic() - self._opened_at >= self.open_seconds else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def record(self, ok: bool) -> None:
        if self.state == "half-open":
            if ok:
                self._opened_at, self._results = None, []
                log.info("breaker.closed", provider=self.name)
            else:
                self._opened_at = time.monotonic()
            return
        self._results.append(ok)
        del self._results[:-self.window]
        failures = self._results.count(False)
        if failures >= self.failure_threshold and failures / len(self._results) >= self.failure_ratio:
            self._opened_at = time.monotonic()
            log.warning("breaker.opened", provider=self.name, failures=failures, window=len(self._results))
