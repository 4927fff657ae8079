"""The simulated carrier: the demo's and the tests' phone network.

It keeps its own log (`SimDelivery`, the provider side: one row per accepted submission,
duplicates included) and answers lookups by our message id, like a provider with an
idempotency key would. Latency, failure rate and the delay of delivery receipts are options
of the sender. Receipts are posted by `periodic`, which every dispatcher runs in its loop.
The option `answers_lookups` (default true, not offered in the sender form) set to false makes
it a provider without lookup, like Kannel or SMPP: after a crash its texts stay `unknown`
until their receipt arrives (the exactly-once tests run both kinds)."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.utils import timezone

from textpilot.common.bulk_write import insert_rows
from textpilot.delivery.providers.base import (
    LookupResult, OutgoingText, Outcome, Provider, Receipt, SendResult, register,
)


@register
class SimProvider(Provider):
    name = "sim"
    label = "Simulated phone (demo and tests)"
    option_fields = {
        "latency_ms": 50,  # each submission takes this long
        "failure_rate": 0.0,  # share of submissions answered with a transient error
        "undelivered_rate": 0.0,  # share of accepted texts whose receipt says undelivered
        "dlr_delay_s": 1.0,  # receipts arrive this long after acceptance
    }
    supports_lookup = True
    _log_writer: ThreadPoolExecutor | None = None

    def __init__(self, credentials=None, options=None):
        super().__init__(credentials, options)
        self.supports_lookup = bool(self.options.get("answers_lookups", True))

    def _writer(self) -> ThreadPoolExecutor:
        """The carrier log is written by one thread that keeps its database connection: a new
        connection per call (a PostgreSQL backend forked 40 times a second) was the largest
        cost of sending. `close()` closes that connection."""
        if self._log_writer is None:
            self._log_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-carrier-log")
        return self._log_writer

    async def close(self) -> None:
        writer, self._log_writer = self._log_writer, None
        if writer is not None:
            from django.db import connections

            await asyncio.get_running_loop().run_in_executor(writer, connections.close_all)
            writer.shutdown(wait=True)

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        latency = float(self.options["latency_ms"]) / 1000
        failure_rate = float(self.options["failure_rate"])
        started, received_at = time.perf_counter(), timezone.now()
        await asyncio.sleep(latency)  # the submissions of a batch travel concurrently
        results, accepted = [], []
        for text in texts:
            if failure_rate and random.random() < failure_rate:
                results.append(SendResult(text.message_id, Outcome.TRANSIENT, error="sim: simulated 503 from the carrier",
                                          error_code="503"))
                continue
            provider_id = "SM" + secrets.token_hex(12)
            accepted.append((text, provider_id))
            results.append(SendResult(text.message_id, Outcome.ACCEPTED, provider_message_id=provider_id,
                                      request={"to": text.to_phone, "from": text.from_phone}, response={"sid": provider_id}))
        if accepted:
            await asyncio.get_running_loop().run_in_executor(self._writer(), _log_accepted, accepted, self.options, received_at)
        latency_ms = int((time.perf_counter() - started) * 1000)
        for result in results:
            result.latency_ms = latency_ms
        return results

    async def lookup(self, text: OutgoingText) -> LookupResult:
        row = await sync_to_async(_find, thread_sensitive=False)(text.message_id)
        return LookupResult(found=row is not None, provider_message_id=row)

    @classmethod
    def periodic(cls, now: dt.datetime) -> int:
        """The carrier's receipts fall due `dlr_delay_s` after acceptance: post those due."""
        return deliver_due_receipts(now)


def _in_own_connection(fn):
    """The carrier's writes run on asgiref's worker threads: close the connection after each
    call so no session outlives the dispatcher (a test database could not be dropped)."""
    def wrapper(*args, **kwargs):
        from django.db import connections

        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return wrapper


_LOG_COLUMNS = ("store_id", "client_ref", "provider_message_id", "to_phone", "from_phone", "body", "accepted_at",
                "receipt_due_at", "receipt_status")


def _log_accepted(accepted, options, received_at) -> None:
    """Runs on the provider's one log thread, whose connection stays open until close()."""
    from django.db import connection

    from textpilot.delivery.models import SimDelivery

    due = received_at + dt.timedelta(seconds=float(options["dlr_delay_s"]))
    undelivered_rate = float(options["undelivered_rate"])
    try:
        insert_rows(SimDelivery, _LOG_COLUMNS, [
            (text.store_id, str(text.message_id), provider_id, text.to_phone, text.from_phone, text.body, received_at, due,
             "undelivered" if undelivered_rate and random.random() < undelivered_rate else "delivered")
            for text, provider_id in accepted
        ])
    except Exception:
        connection.close()  # a broken connection is not reused by the next call
        raise


@_in_own_connection
def _find(message_id: int) -> str | None:
    from textpilot.delivery.models import SimDelivery

    return SimDelivery.objects.filter(client_ref=str(message_id)).values_list("provider_message_id", flat=True).first()


# Receipts posted per transaction. One transaction for all that are due held SQLite's write
# lock for seconds (2,000 receipts at ~130/s) and starved other writers: a customer's STOP
# waited behind the carrier's receipts (tests/delivery/test_optout_race.py caught it).
RECEIPTS_PER_TRANSACTION = 25


def deliver_due_receipts(now: dt.datetime | None = None, limit: int = 2000) -> int:
    """The simulated carrier posting the receipts due by `now` (synchronous). They go the way
    every provider's receipts go, as `Receipt` records through `delivery.receiving`; a row is
    marked posted in the transaction that posts it, so each receipt is posted exactly once."""
    posted, now = 0, now or timezone.now()
    while posted < limit:
        done = _post_some(now, min(RECEIPTS_PER_TRANSACTION, limit - posted))
        if not done:
            break
        posted += done
    return posted


def _post_some(now: dt.datetime, count: int) -> int:
    from django.db import transaction

    from textpilot.delivery import receiving
    from textpilot.delivery.models import SimDelivery
    from textpilot.stores.models import Store

    with transaction.atomic():
        # Locked and skipped: two dispatchers never post the same receipt (PostgreSQL; SQLite
        # transactions are IMMEDIATE, one writer at a time).
        due = list(SimDelivery.objects.select_for_update(skip_locked=True)
                   .filter(receipt_sent_at__isnull=True, receipt_due_at__lte=now).order_by("receipt_due_at")[:count])
        by_store: dict[int, list] = {}
        for row in due:
            by_store.setdefault(row.store_id, []).append(row)
        stores = Store.objects.in_bulk(list(by_store))
        for store_id, rows in by_store.items():
            if store_id in stores:  # a deleted store's texts have nobody to tell
                receiving.record_receipts(stores[store_id], SimProvider.name, [_receipt(row) for row in rows])
        SimDelivery.objects.filter(pk__in=[row.pk for row in due]).update(receipt_sent_at=timezone.now())
    return len(due)


def _receipt(row) -> Receipt:
    delivered = row.receipt_status == "delivered"
    return Receipt(status=row.receipt_status, provider_message_id=row.provider_message_id, message_id=int(row.client_ref),
                   error_code="" if delivered else "30003", reason="" if delivered else "sim: unreachable handset",
                   raw={"id": row.provider_message_id, "status": row.receipt_status})
