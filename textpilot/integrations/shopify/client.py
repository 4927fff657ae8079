"""Shopify Admin GraphQL over httpx, within the shop's query-cost budget.

Shopify meters GraphQL by query cost in a leaky bucket: every answer reports
`extensions.cost.throttleStatus` (maximumAvailable, currentlyAvailable, restoreRate per
second). Before a query we wait until the bucket has refilled enough for the last query's
cost; a THROTTLED answer (or HTTP 429) waits the time the bucket needs and retries. Network
errors and 5xx answers retry with exponential backoff; a refused token does not retry."""
import logging
import time
from dataclasses import dataclass

import httpx

from textpilot.integrations.shopify import connections

logger = logging.getLogger("textpilot.shopify")

USER_AGENT = "textpilot-shopify-backfill/1"
MAX_ERROR_RETRIES = 5
MAX_THROTTLE_WAITS = 50
MIN_THROTTLE_WAIT = 0.5  # seconds; also the wait when Shopify reports no restore rate
# Added to every computed refill wait: waiting exactly the computed time can leave the
# bucket a hair short (clock and float rounding) and earn another THROTTLED.
REFILL_MARGIN = 0.1


class ShopifyError(Exception):
    """The Admin API refused or kept failing; the message says why."""


@dataclass
class Bucket:
    maximum: float
    available: float
    restore_rate: float
    seen_at: float

    def available_at(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.seen_at))

    def wait_for(self, cost: float, now: float) -> float:
        missing = min(cost, self.maximum) - self.available_at(now)
        if missing <= 0:
            return 0.0
        return missing / self.restore_rate + REFILL_MARGIN if self.restore_rate > 0 else MIN_THROTTLE_WAIT


class AdminClient:
    def __init__(self, url: str, access_token: str, *, sleep=None, clock=None, timeout: float = 30.0, transport=None):
        self.url = url
        self.sleep, self.clock = sleep or time.sleep, clock or time.monotonic
        self.http = httpx.Client(
            timeout=timeout, transport=transport,
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        self.bucket: Bucket | None = None
        self.last_cost: float = 0.0
        self.waited: list[float] = []  # every throttle wait, for the job's log and for tests

    @classmethod
    def for_connection(cls, connection, **kwargs) -> "AdminClient":
        return cls(connections.graphql_url(connection), connections.access_token(connection), **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _wait(self, seconds: float, reason: str) -> None:
        seconds = max(seconds, 0.0)
        self.waited.append(round(seconds, 3))
        logger.info("shopify api wait", extra={"seconds": round(seconds, 3), "reason": reason})
        self.sleep(seconds)

    def _note_cost(self, extensions) -> tuple[float, float]:
        cost = (extensions or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        requested = float(cost.get("requestedQueryCost") or 0)
        if status:
            self.bucket = Bucket(
                float(status.get("maximumAvailable") or 0), float(status.get("currentlyAvailable") or 0),
                float(status.get("restoreRate") or 0), self.clock(),
            )
        if requested:
            self.last_cost = requested
        return requested, float(status.get("currentlyAvailable") or 0)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """The `data` of a successful answer; raises ShopifyError when Shopify refuses."""
        errors_seen = throttles = 0
        while True:
            if self.bucket is not None and self.last_cost:
                if (wait := self.bucket.wait_for(self.last_cost, self.clock())) > 0:
                    self._wait(wait, "budget")
            try:
                response = self.http.post(self.url, json={"query": query, "variables": variables or {}})
            except httpx.TransportError as exc:
                errors_seen += 1
                if errors_seen > MAX_ERROR_RETRIES:
                    raise ShopifyError(f"Shopify Admin API unreachable: {exc}") from exc
                self._wait(2 ** errors_seen, "network error")
                continue
            if response.status_code == 429:
                throttles += 1
                if throttles > MAX_THROTTLE_WAITS:
                    raise ShopifyError("Shopify kept throttling the backfill")
                self._wait(float(response.headers.get("Retry-After") or 2.0), "http 429")
                continue
            if response.status_code >= 500:
                errors_seen += 1
                if errors_seen > MAX_ERROR_RETRIES:
                    raise ShopifyError(f"Shopify Admin API answered {response.status_code} {MAX_ERROR_RETRIES + 1} times")
                self._wait(2 ** errors_seen, f"http {response.status_code}")
                continue
            if response.status_code in (401, 403):
                raise ShopifyError(f"Shopify refused the access token ({response.status_code}): reconnect the shop")
            if response.status_code >= 400:
                raise ShopifyError(f"Shopify Admin API answered {response.status_code}: {response.text[:300]}")
            try:
                body = response.json()
            except ValueError:
                raise ShopifyError("Shopify Admin API answered with something that is not JSON") from None
            requested, available = self._note_cost(body.get("extensions"))
            errors = body.get("errors") or []
            if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
                throttles += 1
                if throttles > MAX_THROTTLE_WAITS:
                    raise ShopifyError("Shopify kept throttling the backfill")
                rate = self.bucket.restore_rate if self.bucket else 0
                needed = (requested - available) / rate + REFILL_MARGIN if rate > 0 and requested > available else 0
                self._wait(max(needed, MIN_THROTTLE_WAIT), "throttled")
                continue
            if errors:
                raise ShopifyError("Shopify GraphQL error: " + "; ".join(str(e.get("message")) for e in errors)[:500])
            return body.get("data") or {}
